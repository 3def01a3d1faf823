/**
 * The public error contract, as plain data: every `extensions.code` and UPSTREAM_UNAVAILABLE
 * `reason` a client may see. The layers below report failures in their own terms (Polyv
 * failures, pagination failures); `server/errorFormatter.ts` maps them onto these tables.
 */
import { PolyvUnavailableReason } from './polyv/errors.js';

/**
 * The public error codes: `extensions.code` on every GraphQL error the gateway returns.
 * Dashboards branch on these, so they are a contract: add, never rename.
 */
export const ErrorCode = {
  /** An argument is invalid: a bad date, a foreign cursor, a page over the limit. */
  BadUserInput: 'BAD_USER_INPUT',
  /** A cursor's record is no longer where the list says it was; start again from the top. */
  StaleCursor: 'STALE_CURSOR',
  /** No API key, or a key we do not know (HTTP 401). */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The key is valid but not allowed this channel or the account-level income. */
  Forbidden: 'FORBIDDEN',
  /** Too many requests for this key; retry after `Retry-After` seconds (HTTP 429). */
  RateLimited: 'RATE_LIMITED',
  /** The query is too big, deep, wide or costly (see `extensions.limit`); nothing was executed. */
  QueryLimitExceeded: 'QUERY_LIMIT_EXCEEDED',
  /**
   * Every execution slot and queue place is taken (GATEWAY_MAX_CONCURRENT_OPERATIONS); retry
   * after `Retry-After` seconds (HTTP 503). Nothing was executed.
   */
  ServerBusy: 'SERVER_BUSY',
  /** The HTTP request itself is unusable: not JSON, too large, no query (HTTP 4xx). */
  BadRequest: 'BAD_REQUEST',
  /** Polyv answered with an error (see `extensions.polyv`). */
  UpstreamError: 'UPSTREAM_ERROR',
  /** Polyv could not be reached or gave no usable answer, after retries. Try again later. */
  UpstreamUnavailable: 'UPSTREAM_UNAVAILABLE',
  /** A bug on our side; details are in the server log, never in the response. */
  InternalServerError: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Why UPSTREAM_UNAVAILABLE: its `extensions.reason`. Public like the codes: add, never rename.
 * Polyv's side and the gateway's protection of Polyv come from the Polyv client; the rest from
 * the layers above it.
 */
export const UnavailableReason = {
  ...PolyvUnavailableReason,
  /** A list's pages kept disagreeing (records arriving while it was read), even past the cache. */
  ListChanging: 'LIST_CHANGING',
} as const;
export type UnavailableReason = (typeof UnavailableReason)[keyof typeof UnavailableReason];
