/**
 * Relay cursor connections over Polyv's page-number pagination: one mechanism for every list.
 *
 * 1. Arguments become a window of positions (window.ts, the Relay algorithm as a pure
 *    function): `after`/`before` bound it, then `first` keeps the head of what is left and
 *    `last` its tail. With neither `first` nor `last`, `first` is DEFAULT_PAGE_SIZE. `last`
 *    without `before` counts back from the end, so it needs the list's length first: one
 *    small extra call (page 1, size 1).
 * 2. The window plus the cursors' own records is read with the fewest pages (planner.ts),
 *    through the request's DataLoader, so pages shared with other fields are fetched once.
 * 3. Each cursor's record must still be where the cursor says. Polyv lists newest first, so
 *    new records push old ones down: if the record moved, we find it (among the fetched
 *    records, else at the position the change in total predicts), shift the window by the
 *    same amount and read again, once. A record that cannot be found is a STALE_CURSOR
 *    error, never a page that silently repeats or skips records.
 * 4. The pages read must agree: one total, no hole. A page cached before new records arrived
 *    disagrees with one fetched after, so when they disagree (or a cursor's record cannot be
 *    found in what the cache held) the whole resolution runs once more past every cache. Only
 *    a list that still disagrees fails, with UPSTREAM_UNAVAILABLE reason LIST_CHANGING.
 */
import { PaginationFailure } from './failures.js';
import { bindingOf, decodeCursor, encodeCursor, type Cursor } from './cursor.js';
import { MAX_PAGE_SIZE as MAX_LIST_PAGE_SIZE, type Page } from './page.js';
import { planPages } from './planner.js';
import { relayWindow, type RelayWindow } from './window.js';

/** Records per page when a client gives neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;
/** The most records one connection page may hold: Polyv's own page limit. */
export const MAX_PAGE_SIZE = MAX_LIST_PAGE_SIZE;

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface Connection<T> {
  edges: Edge<T>[];
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** A list Polyv pages by number, newest first, and how to recognise its records. */
export interface PagedList<T> {
  /** The list's identity: endpoint and normalised filters. Cursors are bound to it. */
  identity: string;
  fetchPage(pageNumber: number, pageSize: number): Promise<Page<T>>;
  /**
   * A page of a walk over the whole list: through the page cache and its single flight, but not
   * kept for the rest of the request. `fresh`: past every cache (re-walking a list that changed).
   */
  fetchWholePage(pageNumber: number, pageSize: number, fresh: boolean): Promise<Page<T>>;
  /** A stable id and the time that orders the list. */
  keyOf(record: T): { id: string; time: number };
}

/** The validated arguments of one connection field. */
interface ValidArgs {
  binding: string;
  first: number | undefined;
  last: number | undefined;
  after: Cursor | undefined;
  before: Cursor | undefined;
}

/** Resolves a Relay connection over a paged list. Failures are PaginationFailures (failures.ts). */
export async function resolveConnection<T>(
  list: PagedList<T>,
  args: ConnectionArgs,
): Promise<Connection<T>> {
  const binding = bindingOf(list.identity);
  const last = readCount(args.last, 'last');
  const first =
    readCount(args.first, 'first') ?? (last === undefined ? DEFAULT_PAGE_SIZE : undefined);
  const request: ValidArgs = {
    binding,
    first,
    last,
    after: readCursor(args.after, 'after', binding),
    before: readCursor(args.before, 'before', binding),
  };

  try {
    return await resolveWith(new PositionReader(list, { fresh: false }), request);
  } catch (error) {
    if (!(error instanceof ListChanged)) throw error;
  }
  // What we read disagreed, most likely a cached page from before the list changed beside a
  // newer one: read it all again past the cache, once.
  try {
    return await resolveWith(new PositionReader(list, { fresh: true }), request);
  } catch (error) {
    if (!(error instanceof ListChanged)) throw error;
    throw new PaginationFailure(
      'listChanging',
      'The list kept changing while it was being read; please retry.',
    );
  }
}

/** One resolution over one reader: find the cursors' records, then read the window. */
async function resolveWith<T>(
  reader: PositionReader<T>,
  request: ValidArgs,
): Promise<Connection<T>> {
  const { first, last, after, before } = request;
  // `last` with no `before` counts back from the end of the list: it needs the list's length.
  if (last !== undefined && !before) await reader.total();

  let shift = 0;
  for (let attempt = 1; ; attempt++) {
    const positions = {
      after: after ? after.position + shift : undefined,
      before: before ? before.position + shift : undefined,
      first,
      last,
    };
    // Before the first read the length may be unknown; the window is then an upper bound (only
    // `first` or `before` ends it), and the final one below lies inside it.
    const bound = relayWindow({ total: reader.knownTotal ?? Infinity, ...positions });
    // Read the window and each cursor's own record, to check it is still in place.
    await reader.readAround(bound, [positions.after, positions.before]);

    const misplaced = [after, before].find(
      (cursor) => cursor && reader.idAt(cursor.position + shift) !== cursor.id,
    );
    if (!misplaced) {
      const totalCount = await reader.total();
      return reader.connection(relayWindow({ total: totalCount, ...positions }), request.binding);
    }

    const found = reader.positionOf(misplaced.id);
    const nextShift =
      found !== undefined
        ? found - misplaced.position
        : (reader.knownTotal ?? misplaced.total) - misplaced.total;
    if (attempt >= 2 || nextShift === shift) {
      // Cached pages may predate the cursor's record: only fresh ones can prove it is gone.
      if (!reader.fresh) throw new ListChanged();
      throw new PaginationFailure(
        'staleCursor',
        'The list changed since this cursor was issued and its record could not be found again; ' +
          'start again from the first page.',
        { argument: misplaced === after ? 'after' : 'before' },
      );
    }
    shift = nextShift;
  }
}

/**
 * What was read does not fit together (pages with different totals, a page shorter than its
 * total promises), or cached pages could not place a cursor's record: read again fresh.
 */
class ListChanged extends Error {
  constructor() {
    super('the list changed while it was being read');
  }
}

const badArgument = (message: string, argument: string) =>
  new PaginationFailure('badArgument', message, { argument });

function readCount(
  value: number | null | undefined,
  argument: 'first' | 'last',
): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) {
    throw badArgument(
      `\`${argument}\` must be a whole number from 0 to ${MAX_PAGE_SIZE}; got ${value}.`,
      argument,
    );
  }
  if (value > MAX_PAGE_SIZE) {
    throw badArgument(
      `\`${argument}\` is at most ${MAX_PAGE_SIZE} (Polyv's largest page); got ${value}. Page through with cursors instead.`,
      argument,
    );
  }
  return value;
}

function readCursor(
  text: string | null | undefined,
  argument: 'after' | 'before',
  binding: string,
): Cursor | undefined {
  if (text === null || text === undefined) return undefined;
  const cursor = decodeCursor(text);
  if (!cursor) throw badArgument(`\`${argument}\` is not a valid cursor.`, argument);
  if (cursor.binding !== binding) {
    throw badArgument(
      `\`${argument}\` is a cursor of a different list: cursors only work with the same field and arguments ` +
        '(channel, filters, dates) that produced them.',
      argument,
    );
  }
  return cursor;
}

/**
 * Reads positions of a list page by page, remembering what it has seen during one resolution:
 * records by position and by id, and the list's total as Polyv last reported it.
 */
class PositionReader<T> {
  private readonly records = new Map<number, T>();
  private readonly positions = new Map<string, number>();
  /** Pages read or being read, by `pageNumber:pageSize`: each is read once per reader. */
  private readonly pages = new Map<string, Promise<void>>();
  knownTotal: number | undefined;
  /** Past every cache (and the request's DataLoader), for a second reading. */
  readonly fresh: boolean;

  constructor(
    private readonly list: PagedList<T>,
    options: { fresh: boolean },
  ) {
    this.fresh = options.fresh;
  }

  /** The list's length, reading the smallest page if nothing has been read yet. */
  async total(): Promise<number> {
    if (this.knownTotal === undefined) await this.load(1, 1);
    return this.knownTotal ?? 0;
  }

  /**
   * Makes the window's positions known, and the given cursor positions: with the window's
   * read when they touch it (the usual case: `after` sits just before the window, `before`
   * just after it), else with a one-record read of their own.
   */
  async readAround(window: RelayWindow, cursorPositions: (number | undefined)[]): Promise<void> {
    let { start, end } = window;
    const apart: number[] = [];
    for (const position of cursorPositions) {
      if (position === undefined) continue;
      if (position === start - 1) start = position;
      else if (position === end) end = position + 1;
      else if (position < start || position >= end) apart.push(position);
    }
    await Promise.all([
      this.read(start, end),
      ...apart.map((position) => this.read(position, position + 1)),
    ]);
  }

  /** Makes positions [from, to) known, as far as the list reaches. */
  private async read(from: number, to: number): Promise<void> {
    const start = Math.max(0, from);
    const end = Math.min(to, this.knownTotal ?? Infinity);
    if (end <= start) return;
    const plan = planPages(start, end);
    await Promise.all(plan.pageNumbers.map((pageNumber) => this.load(pageNumber, plan.pageSize)));
  }

  idAt(position: number): string | undefined {
    const record = this.records.get(position);
    return record === undefined ? undefined : this.list.keyOf(record).id;
  }

  positionOf(id: string): number | undefined {
    return this.positions.get(id);
  }

  /**
   * The connection over a window of known positions (`window.end` <= the known total). Cursors
   * are made only when read: a query for `nodes` alone makes none.
   */
  connection(window: RelayWindow, binding: string): Connection<T> {
    const totalCount = this.knownTotal ?? 0;
    const nodes: T[] = [];
    for (let position = window.start; position < window.end; position++) {
      const node = this.records.get(position);
      // The reads covered the window; a hole means Polyv's pages disagreed with its total.
      if (node === undefined) throw new ListChanged();
      nodes.push(node);
    }
    const keyOf = this.list.keyOf;
    const cursorAt = (index: number): string => {
      const { id, time } = keyOf(nodes[index]!);
      return encodeCursor({ binding, position: window.start + index, id, time, total: totalCount });
    };
    let edges: Edge<T>[] | undefined;
    return {
      get edges() {
        edges ??= nodes.map((node, index) => ({
          node,
          get cursor() {
            return cursorAt(index);
          },
        }));
        return edges;
      },
      nodes,
      totalCount,
      pageInfo: {
        hasPreviousPage: window.hasPreviousPage,
        hasNextPage: window.hasNextPage,
        get startCursor() {
          return nodes.length > 0 ? cursorAt(0) : null;
        },
        get endCursor() {
          return nodes.length > 0 ? cursorAt(nodes.length - 1) : null;
        },
      },
    };
  }

  private load(pageNumber: number, pageSize: number): Promise<void> {
    const key = `${pageNumber}:${pageSize}`;
    let loading = this.pages.get(key);
    if (!loading) {
      loading = this.fetch(pageNumber, pageSize);
      this.pages.set(key, loading);
    }
    return loading;
  }

  private async fetch(pageNumber: number, pageSize: number): Promise<void> {
    const page = this.fresh
      ? await this.list.fetchWholePage(pageNumber, pageSize, true)
      : await this.list.fetchPage(pageNumber, pageSize);
    if (this.knownTotal !== undefined && this.knownTotal !== page.totalItems)
      throw new ListChanged();
    this.knownTotal = page.totalItems;
    const offset = (pageNumber - 1) * pageSize;
    page.items.forEach((record, index) => {
      const position = offset + index;
      const id = this.list.keyOf(record).id;
      const seenAt = this.positions.get(id);
      const seenThere = this.records.get(position);
      // Pages from two moments of a list whose total did not change (one record in, one out):
      // the same record at two positions, or two records at one. Served together they would
      // repeat or skip a record, so this is a list that changed, like a total that differs.
      if (
        (seenAt !== undefined && seenAt !== position) ||
        (seenThere !== undefined && this.list.keyOf(seenThere).id !== id)
      )
        throw new ListChanged();
      this.records.set(position, record);
      this.positions.set(id, position);
    });
  }
}
