/** One page of a Polyv list, as Polyv pages it: by page number and page size. */
export interface PolyvPage<T> {
  items: T[];
  /** Polyv's totalItems: everything matching the filters, not just this page. */
  totalItems: number;
  pageNumber: number;
  pageSize: number;
  /** When Polyv produced this page (epoch ms): older than now when it came from the cache. */
  fetchedAt: number;
}
