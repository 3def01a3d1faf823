/**
 * The Relay window, as a pure function over positions: which records of a list a connection's
 * arguments select, and whether there are pages before and after them. No I/O: connection.ts
 * reads the positions this chooses, and the tests hold it against `graphql-relay`.
 *
 * It is the spec's algorithm (https://relay.dev/graphql/connections.htm, "Pagination
 * algorithm") written with positions instead of arrays:
 *
 * - ApplyCursorsToEdges: keep what lies strictly between `after` and `before`. A cursor naming
 *   no record of the list bounds nothing ("if afterEdge exists"), as in `connectionFromArray`.
 *   The connection only passes positions whose record it has checked, so this is a guard.
 * - then `first` keeps the head of that and `last` the tail of what `first` kept. Both are
 *   clipped to the list's length before `last` counts back, which the spec's array version
 *   gets for free: `first: 50, last: 5` over 40 records is records 35 to 39.
 * - hasPreviousPage with `last`: more than `last` records lie between the cursors; hasNextPage
 *   with `first`: more than `first`. Exactly the spec, which ignores the other count: `first: 2,
 *   last: 5` from the top of a long list has hasPreviousPage true though nothing precedes its two
 *   records (graphql-relay says false there; the spec discourages giving both counts).
 *
 * Where the spec says a server "may" (it leaves it open), we say yes whenever it is true and
 * costs nothing, because the cursor's own record proves it:
 * - `after` without `last`: hasPreviousPage is true (the `after` record itself lies before);
 * - `before` without `first`: hasNextPage is true (the `before` record itself lies after).
 * With neither count, or no cursor on that side, the flag is false as the spec says.
 */

export interface WindowArgs {
  /** The list's length. Infinity while it is not known yet: the window is then an upper bound. */
  total: number;
  /** Position of the `after` cursor's record. */
  after?: number | undefined;
  /** Position of the `before` cursor's record. */
  before?: number | undefined;
  first?: number | undefined;
  last?: number | undefined;
}

export interface RelayWindow {
  /** First position included. */
  start: number;
  /** First position excluded: 0 <= start <= end <= total. Empty when start === end. */
  end: number;
  hasPreviousPage: boolean;
  hasNextPage: boolean;
}

/** The records `first`/`after`/`last`/`before` select, and the spec's pageInfo flags. */
export function relayWindow({ total, after, before, first, last }: WindowArgs): RelayWindow {
  const afterAt = inList(after, total);
  const beforeAt = inList(before, total);
  // ApplyCursorsToEdges: positions strictly between the cursors.
  const lower = afterAt === undefined ? 0 : afterAt + 1;
  const upper = beforeAt ?? total;
  const between = Math.max(0, upper - lower);

  let start = lower;
  let end = upper;
  if (first !== undefined) end = Math.min(end, start + first);
  if (last !== undefined) start = Math.max(start, end - last);
  // Cursors that cross leave nothing between them.
  if (end < start) end = start;

  return {
    start,
    end,
    hasPreviousPage: last !== undefined ? between > last : afterAt !== undefined,
    hasNextPage: first !== undefined ? between > first : beforeAt !== undefined,
  };
}

/** The position if a record of the list stands there, else undefined. */
function inList(position: number | undefined, total: number): number | undefined {
  return position !== undefined && position >= 0 && position < total ? position : undefined;
}
