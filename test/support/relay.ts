/**
 * The oracles connection windows are held against, over plain arrays of positions:
 * graphql-relay's `connectionFromArray` for the edges, and the Relay spec's pageInfo algorithm
 * transcribed step by step (with the "may" answers the Pagination section of docs/api.md documents).
 */
import { connectionFromArray, offsetToCursor } from 'graphql-relay';

export interface WindowQuery {
  first?: number | undefined;
  last?: number | undefined;
  /** Position of the `after` cursor's record. */
  after?: number | undefined;
  /** Position of the `before` cursor's record. */
  before?: number | undefined;
}

/** Positions 0 … length − 1: the list, as graphql-relay slices it. */
export const positionsOf = (length: number) => Array.from({ length }, (_, index) => index);

/**
 * With neither count our connections serve `first: 20` (docs/api.md, Pagination), where
 * graphql-relay would return the whole list: the oracles below apply that default first.
 */
export const withDefaultFirst = (query: WindowQuery): WindowQuery =>
  query.first === undefined && query.last === undefined ? { ...query, first: 20 } : query;

/** The positions `connectionFromArray` returns. */
export function relayEdges(length: number, query: WindowQuery): number[] {
  const { first } = withDefaultFirst(query);
  const connection = connectionFromArray(positionsOf(length), {
    first,
    last: query.last,
    after: query.after === undefined ? undefined : offsetToCursor(query.after),
    before: query.before === undefined ? undefined : offsetToCursor(query.before),
  });
  return connection.edges.map((edge) => edge.node);
}

/**
 * HasPreviousPage and HasNextPage exactly as the spec writes them
 * (https://relay.dev/graphql/connections.htm#sec-Pagination-algorithm), over arrays.
 */
export function specPageInfo(
  length: number,
  query: WindowQuery,
): { hasPreviousPage: boolean; hasNextPage: boolean } {
  const all = positionsOf(length);
  const { first, last, after, before } = withDefaultFirst(query);
  const edges = applyCursorsToEdges(all, after, before);
  const afterEdgeExists = after !== undefined && all.includes(after);
  const beforeEdgeExists = before !== undefined && all.includes(before);
  return {
    hasPreviousPage:
      last !== undefined
        ? edges.length > last
        : // "If the server can efficiently determine that elements exist prior to after": the
          // after record itself does, and we have it.
          afterEdgeExists,
    hasNextPage:
      first !== undefined
        ? edges.length > first
        : // "… that elements exist following before": the before record itself does.
          beforeEdgeExists,
  };
}

/**
 * ApplyCursorsToEdges: a cursor whose edge does not exist removes nothing. Both cursors are
 * looked up in the whole list, as graphql-relay does, so cursors that cross leave nothing
 * (read literally, the spec looks `before` up among what `after` left, and would ignore it).
 */
function applyCursorsToEdges(all: number[], after?: number, before?: number): number[] {
  let edges = all;
  // Records are their positions here, so "before beforeEdge in the list" is `edge < before`.
  if (after !== undefined && all.includes(after)) edges = edges.filter((edge) => edge > after);
  if (before !== undefined && all.includes(before)) edges = edges.filter((edge) => edge < before);
  return edges;
}
