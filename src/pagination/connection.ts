/**
 * Relay cursor connections over Polyv's page-number pagination: one mechanism for every list.
 *
 * 1. Arguments become a window of positions: `after`/`before` bound it, then `first` keeps
 *    the head of what is left and `last` its tail (the Relay algorithm). With neither
 *    `first` nor `last`, `first` is DEFAULT_PAGE_SIZE. `last` with no `before` needs the
 *    list's length first: one small extra call (page 1, size 1).
 * 2. The window plus the cursors' own records is read with the fewest pages (planner.ts),
 *    through the request's DataLoader, so pages shared with other fields are fetched once.
 * 3. Each cursor's record must still be where the cursor says. Polyv lists newest first, so
 *    new records push old ones down: if the record moved, we find it (among the fetched
 *    records, else at the position the change in total predicts), shift the window by the
 *    same amount and read again, once. A record that cannot be found is a STALE_CURSOR
 *    error, never a page that silently repeats or skips records.
 */
import { GraphQLError } from 'graphql';
import { badUserInput, ErrorCode } from '../errors.js';
import { bindingOf, decodeCursor, encodeCursor, type Cursor } from './cursor.js';
import { MAX_UPSTREAM_PAGE_SIZE, type UpstreamPage } from './page.js';
import { planPages } from './planner.js';

/** Records per page when a client gives neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;
/** The most records one connection page may hold: Polyv's own page limit. */
export const MAX_PAGE_SIZE = MAX_UPSTREAM_PAGE_SIZE;

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
  fetchPage(pageNumber: number, pageSize: number): Promise<UpstreamPage<T>>;
  /**
   * A page of a walk over the whole list: through the page cache and its single flight, but not
   * kept for the rest of the request. `fresh`: past every cache (re-walking a list that changed).
   */
  fetchWholePage(pageNumber: number, pageSize: number, fresh: boolean): Promise<UpstreamPage<T>>;
  /** A stable id and the time that orders the list. */
  keyOf(record: T): { id: string; time: number };
}

interface Window {
  /** First position included. */
  start: number;
  /** First position excluded; may lie past the end of the list. */
  end: number;
}

/** Resolves a Relay connection over a paged list. Errors are GraphQL errors with public codes. */
export async function resolveConnection<T>(
  list: PagedList<T>,
  args: ConnectionArgs,
): Promise<Connection<T>> {
  const binding = bindingOf(list.identity);
  const first = readCount(args.first, 'first');
  const last = readCount(args.last, 'last');
  const after = readCursor(args.after, 'after', binding);
  const before = readCursor(args.before, 'before', binding);
  const reader = new PositionReader(list);

  // `last` counted back from the end of the list needs the list's length.
  if (last !== undefined && first === undefined && !before) await reader.total();

  let shift = 0;
  for (let attempt = 1; ; attempt++) {
    const window = windowOf({ first, last, after, before }, shift, reader.knownTotal);
    const afterPosition = after ? after.position + shift : undefined;
    const beforePosition = before ? before.position + shift : undefined;
    // Read the window and each cursor's own record, to check it is still in place.
    await reader.readAround(window, [afterPosition, beforePosition]);

    const misplaced = [after, before].find(
      (cursor) => cursor && reader.idAt(cursor.position + shift) !== cursor.id,
    );
    if (!misplaced) return reader.connection(window, binding);

    const found = reader.positionOf(misplaced.id);
    const nextShift =
      found !== undefined
        ? found - misplaced.position
        : (reader.knownTotal ?? misplaced.total) - misplaced.total;
    if (attempt >= 2 || nextShift === shift) {
      throw new GraphQLError(
        'The list changed since this cursor was issued and its record could not be found again; ' +
          'start again from the first page.',
        {
          extensions: {
            code: ErrorCode.StaleCursor,
            argument: misplaced === after ? 'after' : 'before',
          },
        },
      );
    }
    shift = nextShift;
  }
}

/** The Relay window: bound by the cursors, then trimmed by `first` and `last`. */
function windowOf(
  args: { first?: number; last?: number; after?: Cursor; before?: Cursor },
  shift: number,
  total: number | undefined,
): Window {
  let start = args.after ? args.after.position + shift + 1 : 0;
  let end = args.before ? args.before.position + shift : (total ?? Infinity);
  if (args.first !== undefined) end = Math.min(end, start + args.first);
  if (args.last !== undefined) start = Math.max(start, end - args.last);
  if (args.first === undefined && args.last === undefined)
    end = Math.min(end, start + DEFAULT_PAGE_SIZE);
  // Cursors that cross leave nothing between them.
  if (end < start) end = start;
  return { start, end };
}

function readCount(
  value: number | null | undefined,
  argument: 'first' | 'last',
): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) {
    throw badUserInput(
      `\`${argument}\` must be a whole number from 0 to ${MAX_PAGE_SIZE}; got ${value}.`,
      argument,
    );
  }
  if (value > MAX_PAGE_SIZE) {
    throw badUserInput(
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
  if (!cursor) throw badUserInput(`\`${argument}\` is not a valid cursor.`, argument);
  if (cursor.binding !== binding) {
    throw badUserInput(
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
  knownTotal: number | undefined;

  constructor(private readonly list: PagedList<T>) {}

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
  async readAround(window: Window, cursorPositions: (number | undefined)[]): Promise<void> {
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

  async connection(window: Window, binding: string): Promise<Connection<T>> {
    const totalCount = await this.total();
    const end = Math.min(window.end, totalCount);
    const edges: Edge<T>[] = [];
    for (let position = window.start; position < end; position++) {
      const node = this.records.get(position);
      // The reads above covered the window; a hole means Polyv's pages disagreed with its total.
      if (node === undefined) throw listChangedWhileReading();
      const { id, time } = this.list.keyOf(node);
      edges.push({
        node,
        cursor: encodeCursor({ binding, position, id, time, total: totalCount }),
      });
    }
    return {
      edges,
      nodes: edges.map((edge) => edge.node),
      totalCount,
      pageInfo: {
        hasPreviousPage: window.start > 0 && totalCount > 0,
        hasNextPage: end < totalCount,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  private async load(pageNumber: number, pageSize: number): Promise<void> {
    const page = await this.list.fetchPage(pageNumber, pageSize);
    if (this.knownTotal !== undefined && this.knownTotal !== page.totalItems)
      throw listChangedWhileReading();
    this.knownTotal = page.totalItems;
    const offset = (pageNumber - 1) * pageSize;
    page.items.forEach((record, index) => {
      this.records.set(offset + index, record);
      this.positions.set(this.list.keyOf(record).id, offset + index);
    });
  }
}

function listChangedWhileReading(): GraphQLError {
  return new GraphQLError('The list changed while it was being read; please retry.', {
    extensions: { code: ErrorCode.UpstreamUnavailable },
  });
}
