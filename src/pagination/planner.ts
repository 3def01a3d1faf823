/**
 * Page planning: which upstream pages (one page size, consecutive page numbers) cover a
 * range of positions with the fewest calls.
 *
 * For a range of n positions (n <= max + 1) we look for the smallest page size s >= n for
 * which the range falls inside a single page: one call. If there is none, page size
 * s = min(n, max) splits it over exactly two pages, because a range no longer than s + 1
 * crosses at most one page boundary. So any window of up to 1000 records (plus the cursor's
 * own record, which we re-read to detect shifts) costs at most two calls. Longer ranges
 * (only possible when both cursors are given and touch the window) use pages of the largest size.
 */
import { MAX_UPSTREAM_PAGE_SIZE } from './page.js';

export interface PagePlan {
  pageSize: number;
  /** 1-based page numbers, ascending. */
  pageNumbers: number[];
}

/** Plans pages covering positions [start, end) (0-based, end exclusive, end > start). */
export function planPages(
  start: number,
  end: number,
  maxPageSize = MAX_UPSTREAM_PAGE_SIZE,
): PagePlan {
  const length = end - start;
  if (!Number.isSafeInteger(start) || start < 0 || !(length > 0)) {
    throw new RangeError(`cannot plan pages for positions [${start}, ${end})`);
  }
  for (let size = Math.min(length, maxPageSize); size <= maxPageSize; size++) {
    const first = Math.floor(start / size);
    if (Math.floor((end - 1) / size) === first) return { pageSize: size, pageNumbers: [first + 1] };
  }
  const size = Math.min(length, maxPageSize);
  const first = Math.floor(start / size);
  const last = Math.floor((end - 1) / size);
  const pageNumbers: number[] = [];
  for (let index = first; index <= last; index++) pageNumbers.push(index + 1);
  return { pageSize: size, pageNumbers };
}

/** How many more records than its length a short range's single page may hold (see below). */
const SHORT_RANGE_SLACK = 40;

/**
 * The most records a plan for a range of `length` positions may fetch, wherever it starts:
 * what a connection's pages may hold. Two pages of the range's size (one more page for every
 * further 1,000); or, for a range of a few records, the single page the planner prefers to two
 * calls, which may be a little larger: at most 15 records over two pages of the range for
 * every start below 2,000,000 (measured), so `length + 40` bounds it with room to spare.
 */
export function plannedRecordsBound(length: number, maxPageSize = MAX_UPSTREAM_PAGE_SIZE): number {
  if (length <= 1) return Math.max(0, length);
  const size = Math.min(length, maxPageSize);
  const pages = Math.ceil((length - 1) / size) + 1;
  return Math.max(size * pages, length + SHORT_RANGE_SLACK);
}
