/**
 * Stale cursors and changing lists in resolveConnection (src/pagination/connection.ts), pure:
 * the list is an array in memory, paged newest first as Polyv pages, which gains records at its
 * head, loses records, answers from a page cache that predates a change, or changes while it is
 * read. Answers are held against graphql-relay's `connectionFromArray` (support/relay.ts) over
 * the list as it stands, and every page read is counted against connection.ts's header (points
 * 1-4) and the planner. The same over real HTTP, fewer times, is in listChanges.test.ts.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  resolveConnection,
  type Connection,
  type ConnectionArgs,
  type PagedList,
} from '../src/pagination/connection.js';
import { bindingOf, decodeCursor, encodeCursor } from '../src/pagination/cursor.js';
import { PaginationFailure } from '../src/pagination/failures.js';
import type { Page } from '../src/pagination/page.js';
import { planPages } from '../src/pagination/planner.js';
import { relayEdges, specPageInfo, type WindowQuery } from './support/relay.js';

/** The list's identity: cursors are bound to it. */
const IDENTITY = 'memory:{"channelId":"2812610"}';

interface Item {
  id: string;
  time: number;
}

/**
 * A list in memory, newest first, read as connection.ts reads Polyv: `fetchPage` through a page
 * cache (when `caching`), `fetchWholePage(…, fresh)` past it. Every read is logged as
 * `page n:size` or `fresh n:size`.
 */
class MemoryList implements PagedList<Item> {
  readonly identity = IDENTITY;
  /** Newest first, as Polyv lists. */
  items: Item[] = [];
  readonly reads: string[] = [];
  /** Keeps every page it serves and serves it again, however the list has changed since. */
  caching = false;
  /** Runs after each page is served: a list that changes while it is read. */
  afterRead: () => void = () => {};
  /** What a page looks like on the wire (a page shorter than its total, …). */
  answer: (page: Page<Item>) => Page<Item> = (page) => page;
  private readonly cache = new Map<string, Page<Item>>();
  private made = 0;

  constructor(length: number) {
    this.insert(length);
  }

  /** New records arrive at the head. */
  insert(count: number): void {
    const arrived = Array.from({ length: count }, () => {
      const serial = this.made++;
      return { id: `r${serial}`, time: serial * 1000 };
    });
    this.items = [...arrived.reverse(), ...this.items];
  }

  remove(...ids: string[]): void {
    this.items = this.items.filter((item) => !ids.includes(item.id));
  }

  fetchPage(pageNumber: number, pageSize: number): Promise<Page<Item>> {
    return this.serve(pageNumber, pageSize, false);
  }

  fetchWholePage(pageNumber: number, pageSize: number, fresh: boolean): Promise<Page<Item>> {
    // Connections go past the cache with it, or not at all (they read through fetchPage).
    if (!fresh) throw new Error('a connection read a whole-list page through the cache');
    return this.serve(pageNumber, pageSize, true);
  }

  keyOf(item: Item) {
    return item;
  }

  private serve(pageNumber: number, pageSize: number, fresh: boolean): Promise<Page<Item>> {
    const key = `${pageNumber}:${pageSize}`;
    this.reads.push(`${fresh ? 'fresh' : 'page'} ${key}`);
    let page = this.caching && !fresh ? this.cache.get(key) : undefined;
    if (!page) {
      const offset = (pageNumber - 1) * pageSize;
      page = this.answer({
        items: this.items.slice(offset, offset + pageSize),
        totalItems: this.items.length,
        pageNumber,
        pageSize,
        fetchedAt: 0,
      });
      // A fresh read refreshes the cache, as the page cache does.
      if (this.caching) this.cache.set(key, page);
    }
    this.afterRead();
    return Promise.resolve(page);
  }
}

/** The cursor a connection issues for the record at `position`. */
function cursorAt(list: MemoryList, position: number): string {
  const { id, time } = list.items[position]!;
  const binding = bindingOf(list.identity);
  return encodeCursor({ binding, position, id, time, total: list.items.length });
}

/** What a connection answered, in the terms the oracle can state. */
function summary(connection: Connection<Item>) {
  return {
    ids: connection.nodes.map((node) => node.id),
    totalCount: connection.totalCount,
    hasPreviousPage: connection.pageInfo.hasPreviousPage,
    hasNextPage: connection.pageInfo.hasNextPage,
    cursors: connection.edges.map((edge) => decodeCursor(edge.cursor)),
    ends: [connection.pageInfo.startCursor, connection.pageInfo.endCursor],
  };
}

/**
 * What graphql-relay answers over `items` (with the spec's pageInfo), the cursors' records at
 * the positions in `query`; and the cursors a connection issues for its edges.
 */
function relayAnswer(items: Item[], query: WindowQuery) {
  const positions = relayEdges(items.length, query);
  const cursors = positions.map((position) => ({
    binding: bindingOf(IDENTITY),
    position,
    ...items[position]!,
    total: items.length,
  }));
  const encoded = cursors.map(encodeCursor);
  return {
    ids: positions.map((position) => items[position]!.id),
    totalCount: items.length,
    ...specPageInfo(items.length, query),
    cursors,
    ends: [encoded[0] ?? null, encoded.at(-1) ?? null],
  };
}

/** Where each cursor's record stands in `items` (-1: not there), as a graphql-relay query. */
function queryIn(items: Item[], args: ConnectionArgs): WindowQuery {
  const at = (cursor: string | null | undefined) =>
    cursor ? items.findIndex((item) => item.id === decodeCursor(cursor)!.id) : undefined;
  return {
    first: args.first ?? undefined,
    last: args.last ?? undefined,
    after: at(args.after),
    before: at(args.before),
  };
}

/** The PaginationFailure `answer` fails with. */
async function failureOf(answer: Promise<unknown>): Promise<PaginationFailure> {
  const error = await answer.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof PaginationFailure)) throw new Error(`expected a failure, got ${error}`);
  return error;
}

/** The connection, or the PaginationFailure it failed with (anything else is thrown). */
function settle(answer: Promise<Connection<Item>>): Promise<Connection<Item> | PaginationFailure> {
  return answer.catch((error: unknown) => {
    if (error instanceof PaginationFailure) return error;
    throw error;
  });
}

/** The list's ids, newest first. */
const idsOf = (list: MemoryList) => list.items.map((item) => item.id);

describe('named cases', () => {
  it('serves the next page after a new record, finding the cursor’s record in what it read', async () => {
    const list = new MemoryList(100);
    const first = await resolveConnection(list, { first: 20 });
    const before = idsOf(list);
    list.insert(1);
    list.reads.length = 0;
    const next = await resolveConnection(list, { first: 20, after: first.pageInfo.endCursor });
    expect(next.nodes.map((node) => node.id)).toEqual(before.slice(20, 40));
    expect(summary(next)).toEqual(relayAnswer(list.items, { first: 20, after: 20 }));
    // Positions 19-39 (one page of 40): the record is at 20, so the window shifts by one and
    // positions 20-40 are read again (one page of 41). No fresh reads: the pages agreed.
    expect(list.reads).toEqual(['page 1:40', 'page 1:41']);
  });

  it('finds a record pushed past the window where the change in total puts it', async () => {
    const list = new MemoryList(100);
    const first = await resolveConnection(list, { first: 20 });
    const before = idsOf(list);
    list.insert(30);
    list.reads.length = 0;
    const next = await resolveConnection(list, { first: 20, after: first.pageInfo.endCursor });
    expect(next.nodes.map((node) => node.id)).toEqual(before.slice(20, 40));
    expect(next.totalCount).toBe(130);
    // Positions 19-39 hold none of it; 30 more records put it at 49: positions 49-69.
    expect(list.reads).toEqual(['page 1:40', 'page 3:24']);
  });

  it('follows a record moved up by deletions before it', async () => {
    const list = new MemoryList(100);
    const first = await resolveConnection(list, { first: 20 });
    const before = idsOf(list);
    list.remove(...before.slice(0, 5));
    list.reads.length = 0;
    const next = await resolveConnection(list, { first: 20, after: first.pageInfo.endCursor });
    expect(next.nodes.map((node) => node.id)).toEqual(before.slice(20, 40));
    expect(list.reads).toEqual(['page 1:40', 'page 1:35']);
  });

  it('pages backwards from a `before` cursor after new records', async () => {
    const list = new MemoryList(100);
    const tail = await resolveConnection(list, { last: 20 });
    const before = idsOf(list);
    list.insert(3);
    list.reads.length = 0;
    const previous = await resolveConnection(list, {
      last: 20,
      before: tail.pageInfo.startCursor,
    });
    expect(previous.nodes.map((node) => node.id)).toEqual(before.slice(60, 80));
    expect(summary(previous)).toEqual(relayAnswer(list.items, { last: 20, before: 83 }));
    // Positions 60-80 (page 3 of 27), then 63-83 (page 4 of 21) once the total says the
    // record moved down by 3.
    expect(list.reads).toEqual(['page 3:27', 'page 4:21']);
  });

  it('rejects an `after` whose record was deleted: STALE_CURSOR, decided on fresh pages', async () => {
    const list = new MemoryList(100);
    const first = await resolveConnection(list, { first: 20 });
    list.remove(first.nodes[19]!.id);
    list.reads.length = 0;
    const failure = await failureOf(
      resolveConnection(list, { first: 20, after: first.pageInfo.endCursor }),
    );
    expect(failure.kind).toBe('staleCursor');
    expect(failure.details).toEqual({ argument: 'after' });
    // Positions 19-39; one record fewer, so 18-38; not there: both again past the cache.
    expect(list.reads).toEqual(['page 1:40', 'page 1:39', 'fresh 1:40', 'fresh 1:39']);
  });

  it('rejects a `before` whose record was deleted, naming `before`', async () => {
    const list = new MemoryList(100);
    const tail = await resolveConnection(list, { last: 20 });
    list.remove(tail.nodes[0]!.id);
    const failure = await failureOf(
      resolveConnection(list, { last: 20, before: tail.pageInfo.startCursor }),
    );
    expect(failure.kind).toBe('staleCursor');
    expect(failure.details).toEqual({ argument: 'before' });
  });

  it.each<[string, (list: MemoryList) => string]>([
    [
      'a cursor of another list',
      (list) =>
        encodeCursor({
          ...decodeCursor(cursorAt(list, 5))!,
          binding: bindingOf('memory:{"channelId":"2812611"}'),
        }),
    ],
    ['text that is not a cursor', () => 'not-a-cursor'],
    ['graphql-relay’s cursor', () => Buffer.from('arrayconnection:5').toString('base64')],
  ])('rejects %s as a bad `after`, reading nothing', async (_name, cursorOf) => {
    const list = new MemoryList(100);
    const failure = await failureOf(resolveConnection(list, { first: 5, after: cursorOf(list) }));
    expect(failure.kind).toBe('badArgument');
    expect(failure.details).toEqual({ argument: 'after' });
    expect(list.reads).toEqual([]);
  });

  it('reads a cached page from before new records, and one after, again past the cache, once', async () => {
    // Issue 10's case (listChanges.test.ts over HTTP): pages of 1,000, the first one cached.
    const list = new MemoryList(2500);
    list.caching = true;
    const first = await resolveConnection(list, { first: 1000 });
    const before = idsOf(list);
    list.insert(1);
    list.reads.length = 0;
    const next = await resolveConnection(list, { first: 1000, after: first.pageInfo.endCursor });
    expect(next.nodes.map((node) => node.id)).toEqual(before.slice(1000, 2000));
    expect(summary(next)).toEqual(relayAnswer(list.items, { first: 1000, after: 1000 }));
    // Page 1 from the cache (2,500 records) and page 2 (2,501) disagree: both again, fresh,
    // then page 3 once the window has shifted by the new record.
    expect(list.reads).toEqual([
      'page 1:1000',
      'page 2:1000',
      'fresh 1:1000',
      'fresh 2:1000',
      'fresh 3:1000',
    ]);
  });

  it('places a cursor newer than the cached page that should hold it with fresh pages', async () => {
    const list = new MemoryList(100);
    list.caching = true;
    await resolveConnection(list, { first: 20 }); // caches page 1:20
    list.insert(5);
    const newer = await resolveConnection(list, { first: 40 });
    list.reads.length = 0;
    // The newest record's cursor: the cached page 1:20 predates it.
    const next = await resolveConnection(list, { first: 19, after: newer.edges[0]!.cursor });
    expect(summary(next)).toEqual(relayAnswer(list.items, { first: 19, after: 0 }));
    expect(list.reads).toEqual(['page 1:20', 'page 1:19', 'fresh 1:20']);
  });

  it('serves a list that changed once while read after reading it again, fresh', async () => {
    const list = new MemoryList(50);
    let changes = 1;
    list.afterRead = () => {
      if (changes-- > 0) list.insert(1);
    };
    const tail = await resolveConnection(list, { last: 5 });
    expect(summary(tail)).toEqual(relayAnswer(list.items, { last: 5 }));
    expect(tail.totalCount).toBe(51);
    // The total (page 1 of 1), then positions 45-49: they disagree; both again, fresh, the
    // window now positions 46-50 (page 6 of 9).
    expect(list.reads).toEqual(['page 1:1', 'page 10:5', 'fresh 1:1', 'fresh 6:9']);
  });

  it('fails with listChanging when the list keeps changing, after one fresh attempt', async () => {
    const list = new MemoryList(50);
    list.afterRead = () => list.insert(1);
    const failure = await failureOf(resolveConnection(list, { last: 5 }));
    expect(failure.kind).toBe('listChanging');
    expect(failure.message).toMatch(/kept changing/);
    expect(list.reads).toEqual(['page 1:1', 'page 10:5', 'fresh 1:1', 'fresh 6:9']);
  });

  it('reads a page shorter than its total promises again, fresh, once', async () => {
    const list = new MemoryList(50);
    let short = 1;
    list.answer = (page) => (short-- > 0 ? { ...page, items: page.items.slice(0, -1) } : page);
    const head = await resolveConnection(list, { first: 20 });
    expect(summary(head)).toEqual(relayAnswer(list.items, { first: 20 }));
    expect(list.reads).toEqual(['page 1:20', 'fresh 1:20']);
  });

  it('fails with listChanging when every page is short', async () => {
    const list = new MemoryList(50);
    list.answer = (page) => ({ ...page, items: page.items.slice(0, -1) });
    const failure = await failureOf(resolveConnection(list, { first: 20 }));
    expect(failure.kind).toBe('listChanging');
    expect(list.reads).toEqual(['page 1:20', 'fresh 1:20']);
  });

  // One shift moves the whole window (header, point 3), so `after` and `before` must have moved
  // together. Here both records are still there, yet the client is told to start again.
  it('a limitation: a record deleted between two cursors is STALE_CURSOR', async () => {
    const list = new MemoryList(100);
    const head = await resolveConnection(list, { first: 40 });
    list.remove(head.nodes[20]!.id);
    const failure = await failureOf(
      resolveConnection(list, { after: head.edges[10]!.cursor, before: head.edges[30]!.cursor }),
    );
    expect(failure.kind).toBe('staleCursor');
    // It names `after`, whose record is in place: the shift that fits `before` misplaces it.
    expect(failure.details).toEqual({ argument: 'after' });
  });

  it('a limitation: two cursors from before and after new records are STALE_CURSOR', async () => {
    const list = new MemoryList(100);
    const older = await resolveConnection(list, { first: 10 });
    list.insert(2);
    const newer = await resolveConnection(list, { first: 40 });
    const failure = await failureOf(
      resolveConnection(list, {
        after: older.pageInfo.endCursor,
        before: newer.pageInfo.endCursor,
      }),
    );
    expect(failure.kind).toBe('staleCursor');
    expect(failure.details).toEqual({ argument: 'before' });
  });
});

describe('bugs found here (issue 11)', () => {
  // Found here and fixed: pages were checked to agree by their totals only. One record in and
  // one out leaves the total as it was, so a page cached before and a page read after were
  // taken as one list: the cached page 1 held the cursor's record at 999, the new page 2 held
  // it again at 1,000, and the next page started with the record the client already had. Now a
  // record seen at two positions (or two records at one) is a changed list, read again fresh.
  it('never repeats the cursor’s record when pages of equal totals disagree', async () => {
    const list = new MemoryList(2500);
    list.caching = true;
    const first = await resolveConnection(list, { first: 1000 });
    const before = idsOf(list);
    list.insert(1);
    list.remove(before.at(-1)!);
    const next = await resolveConnection(list, { first: 1000, after: first.pageInfo.endCursor });
    expect(next.nodes[0]!.id).not.toBe(before[999]);
    expect(summary(next)).toEqual(relayAnswer(list.items, { first: 1000, after: 1000 }));
  });
});

/** Lists of a few records mostly, and some long enough for pages of 1,000 to cross. */
const listLength = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 60 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 2500 }), weight: 1 },
);
/** `first` or `last`: small mostly, up to the largest page. */
const count = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 20), weight: 1 },
  { arbitrary: fc.nat(30), weight: 3 },
  { arbitrary: fc.nat(1000), weight: 1 },
);
const optionalCount = fc.option(count, { nil: undefined, freq: 2 });
/** Which earlier cursor to use, if any: an index into those seen so far. */
const pick = fc.option(fc.nat(), { nil: undefined });

/** Cursors from earlier answers: every edge's, so from anywhere a client has been. */
class CursorPool {
  private readonly cursors: string[] = [];
  add(connection: Connection<Item>): void {
    this.cursors.push(...connection.edges.map((edge) => edge.cursor));
  }
  at(index: number | undefined): string | undefined {
    if (index === undefined || this.cursors.length === 0) return undefined;
    return this.cursors[index % this.cursors.length];
  }
}

/** At most one pass past the cache: it reads each page once, so no fresh page twice. */
function expectOneFreshPass(reads: string[]): void {
  const fresh = reads.filter((read) => read.startsWith('fresh'));
  expect(new Set(fresh).size).toBe(fresh.length);
  // And it comes last: nothing is read through the cache once the fresh pass has begun.
  const firstFresh = reads.findIndex((read) => read.startsWith('fresh'));
  if (firstFresh >= 0) expect(reads.slice(firstFresh)).toEqual(fresh);
}

/**
 * Expects `answer` to be graphql-relay's over one of the versions the list has had (the one
 * its pages came from, with the cursors' records in it): pages from a cache may be old, but
 * never a mix.
 */
function expectOneVersion(answer: Connection<Item>, versions: Item[][], args: ConnectionArgs) {
  const candidates = versions.filter((items) => {
    const query = queryIn(items, args);
    return query.after !== -1 && query.before !== -1 && items.length === answer.totalCount;
  });
  const matches = candidates.some((items) =>
    isDeepStrictEqual(summary(answer), relayAnswer(items, queryIn(items, args))),
  );
  // On failure, show the difference from the latest candidate.
  if (!matches) {
    const items = candidates.at(-1) ?? versions.at(-1)!;
    expect(summary(answer)).toEqual(relayAnswer(items, queryIn(items, args)));
  }
}

/** A request with at most one cursor (an index into the pool), or a change between requests. */
type Step =
  | { request: { first?: number; last?: number; cursor?: number; after: boolean } }
  | { change: { added: number; deleted: number[] } };

/** Between requests: new records at the head, or (when allowed) a few deleted anywhere. */
const change = fc.record({ added: fc.nat(30), deleted: fc.array(fc.nat(), { maxLength: 3 }) });
/** A request with at most one cursor, taken from an earlier answer. */
const request = fc.record({
  first: optionalCount,
  last: optionalCount,
  cursor: pick,
  after: fc.boolean(),
});
const history = (deletions: boolean): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.oneof(
      { arbitrary: request.map((args) => ({ request: args })), weight: 3 },
      {
        arbitrary: change.map(({ added, deleted }) => ({
          change: {
            added: Math.max(added, deletions ? 0 : 1),
            deleted: deletions ? deleted : [],
          },
        })),
        weight: 1,
      },
    ),
    { minLength: 1, maxLength: 8 },
  );

/** Runs `steps` on a list with a page cache, checking each answer with `check`. */
async function replay(
  length: number,
  steps: Step[],
  check: (
    answer: Connection<Item> | PaginationFailure,
    versions: Item[][],
    args: ConnectionArgs,
  ) => void,
) {
  const list = new MemoryList(length);
  list.caching = true;
  const versions = [list.items];
  const pool = new CursorPool();
  for (const step of steps) {
    if ('change' in step) {
      const ids = step.change.deleted.map((index) => list.items[index % list.items.length]?.id);
      list.insert(step.change.added);
      list.remove(...ids.filter((id) => id !== undefined));
      versions.push(list.items);
      continue;
    }
    const { first, last, cursor, after } = step.request;
    const args = after
      ? { first, last, after: pool.at(cursor) }
      : { first, last, before: pool.at(cursor) };
    list.reads.length = 0;
    const answer = await settle(resolveConnection(list, args));
    expectOneFreshPass(list.reads);
    check(answer, versions, args);
    if (!(answer instanceof PaginationFailure)) pool.add(answer);
  }
}

describe('properties', () => {
  it('with no change, every window is graphql-relay’s, with cursors from earlier answers (seed 11, 300 runs)', async () => {
    const step = fc.record({
      first: optionalCount,
      last: optionalCount,
      after: pick,
      before: pick,
    });
    await fc.assert(
      fc.asyncProperty(
        listLength,
        fc.array(step, { minLength: 1, maxLength: 6 }),
        async (length, steps) => {
          const list = new MemoryList(length);
          const pool = new CursorPool();
          for (const { first, last, after, before } of steps) {
            const args = { first, last, after: pool.at(after), before: pool.at(before) };
            const answer = await resolveConnection(list, args);
            expect(summary(answer)).toEqual(relayAnswer(list.items, queryIn(list.items, args)));
            pool.add(answer);
          }
          // Nothing disagreed, so nothing was read past the cache.
          expect(list.reads.filter((read) => read.startsWith('fresh'))).toEqual([]);
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });

  it('reads exactly the pages the planner plans for a plain window (seed 12, 1,000 runs)', async () => {
    const window = listLength.chain((length) =>
      fc.record({
        length: fc.constant(length),
        kind: fc.constantFrom('first', 'first after', 'last before', 'last'),
        count,
        position: fc.nat(length - 1),
      }),
    );
    const keys = ({ pageSize, pageNumbers }: { pageSize: number; pageNumbers: number[] }) =>
      pageNumbers.map((pageNumber) => `page ${pageNumber}:${pageSize}`);
    await fc.assert(
      fc.asyncProperty(window, async ({ length, kind, count: n, position }) => {
        const list = new MemoryList(length);
        const cursor = cursorAt(list, position);
        // The window's positions plus the cursor's own record, in one plan (planner.ts); or,
        // when that is empty, page 1 of 1 for the total. `last` alone reads the total first.
        let args: ConnectionArgs;
        let expected: string[];
        if (kind === 'first') {
          args = { first: n };
          expected = n > 0 ? keys(planPages(0, n)) : ['page 1:1'];
        } else if (kind === 'first after') {
          args = { first: n, after: cursor };
          expected = keys(planPages(position, position + n + 1));
        } else if (kind === 'last before') {
          args = { last: n, before: cursor };
          expected = keys(planPages(Math.max(0, position - n), position + 1));
        } else {
          args = { last: n };
          const window = n > 0 ? keys(planPages(Math.max(0, length - n), length)) : [];
          expected = [...new Set(['page 1:1', ...window])];
        }
        const answer = await resolveConnection(list, args);
        expect(list.reads).toEqual(expected);
        // At most two pages for any window and its cursor; one more for the total.
        expect(list.reads.length).toBeLessThanOrEqual(kind === 'last' ? 3 : 2);
        expect(summary(answer)).toEqual(relayAnswer(list.items, queryIn(list.items, args)));
      }),
      { seed: 12, numRuns: 1000 },
    );
  });

  it('after N new records, pages on from an old cursor with no repeat and no skip (seed 13, 1,000 runs)', async () => {
    const scenario = fc.record({
      length: listLength,
      firstPage: fc.record({ size: fc.integer({ min: 1, max: 1000 }), fromTail: fc.boolean() }),
      edge: fc.nat(),
      added: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 3 },
        { arbitrary: fc.integer({ min: 1, max: 1500 }), weight: 1 },
      ),
      forward: fc.boolean(),
      next: count,
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ length, firstPage, edge, added, forward, next }) => {
        const list = new MemoryList(length);
        const page = await resolveConnection(
          list,
          firstPage.fromTail ? { last: firstPage.size } : { first: firstPage.size },
        );
        const chosen = edge % page.edges.length;
        const cursor = page.edges[chosen]!.cursor;
        const record = page.nodes[chosen]!;
        const position = decodeCursor(cursor)!.position;
        list.insert(added);
        list.reads.length = 0;

        const args = forward ? { first: next, after: cursor } : { last: next, before: cursor };
        const answer = await resolveConnection(list, args);
        // The record has moved down by N; graphql-relay over the new list from there.
        expect(list.items[position + added]).toBe(record);
        const from = position + added;
        const query = forward ? { first: next, after: from } : { last: next, before: from };
        expect(summary(answer)).toEqual(relayAnswer(list.items, query));
        // One shift, no fresh reads: at most two plans of two pages.
        expect(list.reads.every((read) => read.startsWith('page'))).toBe(true);
        expect(list.reads.length).toBeLessThanOrEqual(4);
      }),
      { seed: 13, numRuns: 1000 },
    );
  });

  it('a cursor whose record was deleted is STALE_CURSOR, decided by one fresh re-read (seed 14, 1,000 runs)', async () => {
    const scenario = fc.record({
      length: listLength,
      firstPage: fc.integer({ min: 1, max: 1000 }),
      edge: fc.nat(),
      added: fc.nat(40),
      alsoDeleted: fc.array(fc.nat(), { maxLength: 5 }),
      forward: fc.boolean(),
      next: count,
    });
    await fc.assert(
      fc.asyncProperty(
        scenario,
        async ({ length, firstPage, edge, added, alsoDeleted, forward, next }) => {
          const list = new MemoryList(length);
          const page = await resolveConnection(list, { first: firstPage });
          const chosen = edge % page.edges.length;
          const others = alsoDeleted.map((index) => list.items[index % length]!.id);
          list.insert(added);
          list.remove(page.nodes[chosen]!.id, ...others);
          list.reads.length = 0;

          const cursor = page.edges[chosen]!.cursor;
          const args = forward ? { first: next, after: cursor } : { last: next, before: cursor };
          const failure = await failureOf(resolveConnection(list, args));
          expect(failure.kind).toBe('staleCursor');
          expect(failure.details).toEqual({ argument: forward ? 'after' : 'before' });
          // The same reads twice: through the cache, then past it (the list did not change
          // in between, so the fresh pass asks for the same pages).
          const cached = list.reads.filter((read) => read.startsWith('page'));
          expect(list.reads).toEqual([
            ...cached,
            ...cached.map((read) => read.replace('page', 'fresh')),
          ]);
        },
      ),
      { seed: 14, numRuns: 1000 },
    );
  });

  it('with a page cache from before new records, every answer is graphql-relay’s over one version (seed 15, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(listLength, history(false), async (length, steps) => {
        await replay(length, steps, (answer, versions, args) => {
          // Only new records at the head: every cursor's record is still there to be found.
          if (answer instanceof PaginationFailure) throw answer;
          expectOneVersion(answer, versions, args);
        });
      }),
      { seed: 15, numRuns: 500 },
    );
  });

  it('with deletions too, an answer is one version’s or a failure, never a mix (seed 16, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(listLength, history(true), async (length, steps) => {
        await replay(length, steps, (answer, versions, args) => {
          if (answer instanceof PaginationFailure) {
            expect(['staleCursor', 'listChanging']).toContain(answer.kind);
            return;
          }
          expectOneVersion(answer, versions, args);
        });
      }),
      { seed: 16, numRuns: 500 },
    );
  });

  it('a list that changes while read: served after one fresh pass, or listChanging (seed 17, 1,000 runs)', async () => {
    const scenario = fc.record({
      length: listLength,
      firstPage: fc.integer({ min: 1, max: 1000 }),
      edge: fc.nat(),
      addedBefore: fc.nat(40),
      // After which reads of the request new records arrive (1 is after the first read).
      changesAfter: fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
      forward: fc.boolean(),
      next: count,
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (scene) => {
        const list = new MemoryList(scene.length);
        const page = await resolveConnection(list, { first: scene.firstPage });
        const chosen = scene.edge % page.edges.length;
        const cursor = page.edges[chosen]!.cursor;
        list.insert(scene.addedBefore);
        list.reads.length = 0;
        const versions = [list.items];
        list.afterRead = () => {
          if (scene.changesAfter.includes(list.reads.length)) {
            list.insert(1);
            versions.push(list.items);
          }
        };

        const args = scene.forward
          ? { first: scene.next, after: cursor }
          : { last: scene.next, before: cursor };
        const answer = await settle(resolveConnection(list, args));
        expectOneFreshPass(list.reads);
        if (answer instanceof PaginationFailure) {
          // Only new records: the cursor's record is always there, so only a list that changed
          // during the fresh pass too may fail (and so one change alone is always served).
          expect(answer.kind).toBe('listChanging');
          const firstFresh = list.reads.findIndex((read) => read.startsWith('fresh'));
          const duringFreshPass = (read: number) => read > firstFresh && read < list.reads.length;
          expect(scene.changesAfter.some(duringFreshPass)).toBe(true);
          return;
        }
        expectOneVersion(answer, versions, args);
      }),
      { seed: 17, numRuns: 1000 },
    );
  });
});
