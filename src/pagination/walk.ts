/**
 * Walking a whole paged list, for summaries: Polyv's largest pages, all fetched concurrently
 * (through the same DataLoader and page cache as connections, so they share pages), within the
 * upstream guard's limits.
 *
 * Consistency: every page must report the same total, and the records must add up to it with
 * no id twice. If not (records arrived while we walked, or cached pages are from different
 * moments), the list is walked again past every cache, up to twice more. The result says which
 * instant it describes: `asOf`, when its oldest page was fetched.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';
import type { PagedList } from './connection.js';
import { MAX_UPSTREAM_PAGE_SIZE, type UpstreamPage } from './page.js';

const WALKS = 3;

export async function walkAll<T>(
  list: PagedList<T>,
  maxRecords: number,
): Promise<{ records: T[]; asOf: Date }> {
  for (let walk = 1; walk <= WALKS; walk++) {
    const fresh = walk > 1;
    const first = await list.fetchPage(1, MAX_UPSTREAM_PAGE_SIZE, fresh);
    const total = first.totalItems;
    if (total > maxRecords) {
      throw new GraphQLError(
        `This summary would add up ${total} records; the limit is ${maxRecords}. Narrow it (a shorter range, one session, one channel).`,
        {
          extensions: {
            code: ErrorCode.QueryLimitExceeded,
            limit: 'summaryRecords',
            max: maxRecords,
            actual: total,
          },
        },
      );
    }
    const pageCount = Math.ceil(total / MAX_UPSTREAM_PAGE_SIZE);
    const rest = await Promise.all(
      Array.from({ length: Math.max(0, pageCount - 1) }, (_, index) =>
        list.fetchPage(index + 2, MAX_UPSTREAM_PAGE_SIZE, fresh),
      ),
    );
    const pages: UpstreamPage<T>[] = [first, ...rest];
    const records = pages.flatMap((page) => page.items);
    const ids = new Set(records.map((record) => list.keyOf(record).id));
    if (
      pages.every((page) => page.totalItems === total) &&
      records.length === total &&
      ids.size === total
    ) {
      return { records, asOf: new Date(Math.min(...pages.map((page) => page.fetchedAt))) };
    }
  }
  throw new GraphQLError('The list kept changing while it was being added up; please retry.', {
    extensions: { code: ErrorCode.UpstreamUnavailable, reason: 'LIST_CHANGING' },
  });
}
