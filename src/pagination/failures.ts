/**
 * What pagination can report, in its own terms: no GraphQL here. `server/errorFormatter.ts`
 * maps each kind onto a public code (BAD_USER_INPUT, STALE_CURSOR, UPSTREAM_UNAVAILABLE with
 * reason LIST_CHANGING, QUERY_LIMIT_EXCEEDED).
 */
export type PaginationFailureKind =
  /** A paging argument the client got wrong (`first`, `after`, …): `argument` names it. */
  | 'badArgument'
  /** A cursor's record is no longer in the list: `argument` names the cursor. */
  | 'staleCursor'
  /** The list's pages kept disagreeing while it was read, even past every cache. */
  | 'listChanging'
  /** A walk over the whole list would pass its limit: `limit`, `max`, `actual`. */
  | 'tooLarge';

export interface PaginationFailureDetails {
  argument?: string;
  limit?: string;
  max?: number;
  actual?: number;
}

export class PaginationFailure extends Error {
  constructor(
    readonly kind: PaginationFailureKind,
    message: string,
    readonly details: PaginationFailureDetails = {},
  ) {
    super(message);
    this.name = 'PaginationFailure';
  }
}
