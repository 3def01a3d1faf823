/**
 * Walking a whole paged list, for summaries: Polyv's largest pages, fetched a few at a time
 * through the page cache and its single flight (shared with connections), within the upstream
 * guard's limits. Each page is added to the summary as it arrives and then let go, so a walk
 * holds one summary, the ids it has seen and at most WALK_PAGES_IN_FLIGHT pages, not every
 * record. (With every page asked at once, pages arrived far faster than they could be read:
 * a 100-page walk held 100 answers waiting, 300 MB, and was no faster, being CPU-bound.)
 *
 * Consistency: every page must report the same total, and the records must add up to it with
 * no id twice. If not (records arrived while we walked, or cached pages are from different
 * moments), the list is walked again past every cache, up to twice more. The result says which
 * instant it describes: `asOf`, when its oldest page was fetched.
 */
import pLimit from 'p-limit';
import type { SummaryBuilder } from '../domain/summaries.js';
import { PaginationFailure } from './failures.js';
import type { PagedList } from './connection.js';
import { MAX_PAGE_SIZE as MAX_LIST_PAGE_SIZE, type Page } from './page.js';

const WALKS = 3;

/**
 * Pages of one walk asked for at once. Reading a page of 1,000 takes longer than Polyv's usual
 * latency, so a few in flight keep the walk busy; more only queue answers in memory.
 */
export const WALK_PAGES_IN_FLIGHT = 8;

export async function walkAll<T, S>(
  list: PagedList<T>,
  maxRecords: number,
  newBuilder: () => SummaryBuilder<T, S>,
): Promise<S> {
  for (let walk = 1; walk <= WALKS; walk++) {
    const fresh = walk > 1;
    const builder = newBuilder();
    const ids = new Set<string>();
    let records = 0;
    const take = (page: Page<T>) => {
      builder.add(page.items);
      records += page.items.length;
      for (const item of page.items) ids.add(list.keyOf(item).id);
      return { totalItems: page.totalItems, fetchedAt: page.fetchedAt };
    };

    const first = take(await list.fetchWholePage(1, MAX_LIST_PAGE_SIZE, fresh));
    const total = first.totalItems;
    if (total > maxRecords) {
      throw new PaginationFailure(
        'tooLarge',
        `This summary would add up ${total} records; the limit is ${maxRecords}. Narrow it (a shorter range, one session, one channel).`,
        { limit: 'summaryRecords', max: maxRecords, actual: total },
      );
    }
    const pageCount = Math.ceil(total / MAX_LIST_PAGE_SIZE);
    const inFlight = pLimit(WALK_PAGES_IN_FLIGHT);
    const rest = await Promise.all(
      Array.from({ length: Math.max(0, pageCount - 1) }, (_, index) =>
        inFlight(() => list.fetchWholePage(index + 2, MAX_LIST_PAGE_SIZE, fresh).then(take)),
      ),
    );
    const pages = [first, ...rest];
    if (
      pages.every((page) => page.totalItems === total) &&
      records === total &&
      ids.size === total
    ) {
      return builder.build(new Date(Math.min(...pages.map((page) => page.fetchedAt))));
    }
  }
  throw new PaginationFailure(
    'listChanging',
    'The list kept changing while it was being added up; please retry.',
  );
}
