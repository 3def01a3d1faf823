/**
 * Failures of the Polyv client, in its own terms: no GraphQL here. Whether Polyv answered "no"
 * (PolyvApiError) or gave no usable answer (the rest, each with a reason) is all a caller needs;
 * `server/errorFormatter.ts` maps them onto the public codes.
 */

/**
 * Why a call gave no usable answer. The first five are Polyv's side; the last four are the
 * gateway protecting Polyv (and itself). Public values (`extensions.reason`): add, never rename.
 */
export const PolyvUnavailableReason = {
  /** Connection refused or reset. */
  Network: 'NETWORK',
  Timeout: 'TIMEOUT',
  /** A 5xx, HTML error pages included. */
  Http5xx: 'HTTP_5XX',
  /** A 200 that is not JSON or not Polyv's shape. */
  Malformed: 'MALFORMED',
  /** Polyv said "qps exceeds". */
  PolyvRateLimit: 'POLYV_RATE_LIMIT',
  CircuitOpen: 'CIRCUIT_OPEN',
  QueueFull: 'QUEUE_FULL',
  QueueTimeout: 'QUEUE_TIMEOUT',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
} as const;
export type UnavailableReason =
  (typeof PolyvUnavailableReason)[keyof typeof PolyvUnavailableReason];

/** What Polyv said about a failure, when it said anything. */
export interface PolyvErrorDetails {
  /** Which upstream endpoint failed, e.g. `redPackStatistics`. */
  endpoint: string;
  /** HTTP status of the last attempt, when there was a response. */
  httpStatus?: number;
  /** Polyv's own error code (v4 `error.code`, else the envelope's `code`). */
  polyvCode?: number;
  /** Polyv's own message (v4 `error.desc`, v2 `message`). */
  polyvMessage?: string;
  /** Polyv's requestId, for Polyv's support. */
  requestId?: string;
  /** Attempts made, retries included. */
  attempts?: number;
  /** For a call with no usable answer: why. */
  reason?: UnavailableReason;
  cause?: Error;
}

/**
 * Every upstream failure derives from this class. Messages are written by us: never the URL,
 * the signature or the app secret.
 */
export abstract class PolyvError extends Error {
  /** Polyv answered, and its answer was "no" (as opposed to no usable answer at all). */
  abstract readonly answered: boolean;
  /** Whether another attempt may succeed (network trouble, 5xx, Polyv's QPS limit). */
  abstract readonly retryable: boolean;
  readonly endpoint: string;
  readonly httpStatus: number | undefined;
  readonly polyvCode: number | undefined;
  readonly polyvMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly reason: UnavailableReason | undefined;
  attempts: number;

  constructor(message: string, details: PolyvErrorDetails) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = new.target.name;
    this.endpoint = details.endpoint;
    this.httpStatus = details.httpStatus;
    this.polyvCode = details.polyvCode;
    this.polyvMessage = details.polyvMessage;
    this.requestId = details.requestId;
    this.reason = details.reason;
    this.attempts = details.attempts ?? 1;
  }
}

/** Polyv answered with an error envelope: bad signature, validation, not found, forbidden. */
export class PolyvApiError extends PolyvError {
  readonly answered = true;
  readonly retryable = false;
}

/** Polyv's "qps exceeds number of calls": transient, but every caller should slow down. */
export class PolyvRateLimitedError extends PolyvError {
  readonly answered = false;
  readonly retryable = true;
}

/** No answer: connection refused or reset, timeout, or a 5xx. */
export class PolyvUnavailableError extends PolyvError {
  readonly answered = false;
  readonly retryable = true;
}

/**
 * The gateway did not call Polyv: the circuit is open, the queue is full, or waiting would
 * pass the request's deadline. Retrying inside the same request would only make it worse.
 */
export class PolyvCallRefusedError extends PolyvError {
  readonly answered = false;
  readonly retryable = false;
}

/**
 * An answer we cannot use: not JSON, HTML, or JSON of the wrong shape. Not retried: the same
 * request is likely to get the same answer, and retrying would only add load.
 */
export class PolyvMalformedResponseError extends PolyvError {
  readonly answered = false;
  readonly retryable = false;
}

/**
 * An operation has used up a budget the gateway gave it for this request (calls, or records
 * held): the call is not made. Not Polyv's doing, and not retried.
 */
export class PolyvBudgetExceeded extends Error {
  constructor(
    readonly budget: 'calls' | 'records',
    readonly max: number,
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = 'PolyvBudgetExceeded';
  }
}
