/**
 * pagination/stream.ts over lists made here: pages handed on in order with a bounded number in
 * flight, the connection's consistency rules (a disagreeing page read once more past the cache,
 * then `listChanging`), a first page from the cache read again before anything is handed on,
 * and the record budget refused from the first page alone.
 */
import { describe, expect, it } from '@jest/globals';
import { PaginationFailure } from '../src/pagination/failures.js';
import type { PagedList } from '../src/pagination/connection.js';
import type { Page } from '../src/pagination/page.js';
import { readWholeList, recordsOnPage } from '../src/pagination/stream.js';

interface Item {
  id: string;
}

/** A list of `ids` (newest first), pages of 1,000. */
const pageOf = (ids: readonly string[], pageNumber: number, fetchedAt = 1): Page<Item> => ({
  items: ids.slice((pageNumber - 1) * 1000, pageNumber * 1000).map((id) => ({ id })),
  totalItems: ids.length,
  pageNumber,
  pageSize: 1000,
  fetchedAt,
});

const idsOf = (count: number, prefix = 'r') =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

interface Call {
  pageNumber: number;
  fresh: boolean;
}

/**
 * A list whose fresh pages come from `now()` and whose cached ones from `cached` (when it has
 * that page), recording every call and how many were in flight at most.
 */
function fakeList(now: () => readonly string[], cached: Map<number, Page<Item>> = new Map()) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const list: PagedList<Item> = {
    identity: 'fake',
    fetchPage: () => Promise.reject(new Error('not used by a whole-list read')),
    async fetchWholePage(pageNumber, pageSize, fresh) {
      expect(pageSize).toBe(1000);
      calls.push({ pageNumber, fresh });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return (!fresh && cached.get(pageNumber)) || pageOf(now(), pageNumber, 2);
    },
    keyOf: (item) => ({ id: item.id, time: 0 }),
  };
  return { list, calls, maxInFlight: () => maxInFlight };
}

async function readAll(list: PagedList<Item>, maxRecords = 100_000) {
  const reading = await readWholeList(list, { maxRecords, limitName: 'exportRecords' });
  const ids: string[] = [];
  for await (const items of reading.pages()) ids.push(...items.map((item) => item.id));
  return { total: reading.total, ids };
}

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PaginationFailure) return { kind: error.kind, details: error.details };
    throw error;
  }
  throw new Error('expected a failure');
};

describe('reading a whole list in order', () => {
  it('hands on every record once, in order, with at most eight pages in flight', async () => {
    const ids = idsOf(25_500);
    const { list, calls, maxInFlight } = fakeList(() => ids);
    const read = await readAll(list);
    expect(read).toEqual({ total: 25_500, ids });
    expect(calls.map((call) => call.pageNumber)).toEqual(
      Array.from({ length: 26 }, (_, index) => index + 1),
    );
    expect(calls.every((call) => !call.fresh)).toBe(true);
    expect(maxInFlight()).toBe(8);
  });

  it('reads an empty list and a list of one page with one call', async () => {
    for (const count of [0, 1, 1000]) {
      const ids = idsOf(count);
      const { list, calls } = fakeList(() => ids);
      expect(await readAll(list)).toEqual({ total: count, ids });
      expect(calls).toHaveLength(1);
    }
    expect(recordsOnPage(2500, 3)).toBe(500);
    expect(recordsOnPage(2500, 4)).toBe(0);
  });

  it('refuses a list past its budget from the first page alone', async () => {
    const { list, calls } = fakeList(() => idsOf(3500));
    expect(await failureOf(readAll(list, 3000))).toEqual({
      kind: 'tooLarge',
      details: { limit: 'exportRecords', max: 3000, actual: 3500 },
    });
    expect(calls).toHaveLength(1);
  });

  it('stops asking for pages when the reader stops', async () => {
    const { list, calls } = fakeList(() => idsOf(30_000));
    const reading = await readWholeList(list, { maxRecords: 100_000, limitName: 'x' });
    for await (const items of reading.pages()) {
      expect(items).toHaveLength(1000);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The first two pages, and the eight asked for ahead of the second.
    expect(calls.length).toBeLessThanOrEqual(10);
  });
});

describe('a list that changes, or a cache from another moment', () => {
  it('a stale cached page in the middle is read again past the cache, and so is the rest', async () => {
    const ids = idsOf(5000);
    // Page 4 was cached when the list was shorter by a record at the head.
    const cached = new Map([[4, pageOf(ids.slice(1), 4)]]);
    const { list, calls } = fakeList(() => ids, cached);
    expect(await readAll(list)).toEqual({ total: 5000, ids });
    const page4 = calls.filter((call) => call.pageNumber === 4);
    expect(page4).toEqual([
      { pageNumber: 4, fresh: false },
      { pageNumber: 4, fresh: true },
    ]);
    expect(calls.filter((call) => call.pageNumber === 5).at(-1)).toEqual({
      pageNumber: 5,
      fresh: true,
    });
  });

  it('a first page from the cache is read again before anything is handed on', async () => {
    const old = idsOf(2500, 'old');
    const ids = ['new0', 'new1', ...old];
    const cached = new Map([[1, pageOf(old, 1)]]);
    const { list } = fakeList(() => ids, cached);
    // The list as it is now: nothing of the cached first page's moment.
    expect(await readAll(list)).toEqual({ total: 2502, ids });
  });

  it('a record repeated across two pages (same total, one in, one out) is a disagreement', async () => {
    let ids = idsOf(3000);
    let served = 0;
    const { list } = fakeList(() => {
      // After the first two pages: one record in at the head, one out at the tail.
      if (++served === 3) ids = ['new', ...ids.slice(0, -1)];
      return ids;
    });
    expect(await failureOf(readAll(list))).toEqual({ kind: 'listChanging', details: {} });
  });

  it('a list still changing when read again fails with listChanging', async () => {
    let ids = idsOf(12_000);
    let served = 0;
    const { list, calls } = fakeList(() => {
      // Grows by one record every few pages read.
      if (++served % 3 === 0) ids = [`n${served}`, ...ids];
      return ids;
    });
    expect(await failureOf(readAll(list))).toEqual({ kind: 'listChanging', details: {} });
    expect(calls.some((call) => call.fresh)).toBe(true);
  });

  it('a page short of what its total promises is a disagreement too', async () => {
    const ids = idsOf(2500);
    const short: Page<Item> = { ...pageOf(ids, 2), items: pageOf(ids, 2).items.slice(1) };
    const { list } = fakeList(() => ids, new Map([[2, short]]));
    // Read again fresh, where it is whole.
    expect(await readAll(list)).toEqual({ total: 2500, ids });
  });
});
