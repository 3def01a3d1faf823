/**
 * One page of a list paged by number, newest first: what a PagedList reads. Generic: the lists
 * behind our connections happen to be Polyv's (polyv/page.ts has the same shape).
 */
export interface Page<T> {
  items: T[];
  /** Everything matching the list's filters, not just this page. */
  totalItems: number;
  pageNumber: number;
  pageSize: number;
  /** When the source produced this page (epoch ms): older than now when it came from a cache. */
  fetchedAt: number;
}

/**
 * The largest page the lists accept, and so the largest connection page. It is Polyv's: a list
 * over an endpoint that serves less (its `maxPageSize`, polyv/endpoints.ts) is refused when it is
 * built (lists/list.ts).
 */
export const MAX_PAGE_SIZE = 1000;
