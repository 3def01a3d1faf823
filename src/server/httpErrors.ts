/**
 * Refusals that happen outside GraphQL execution (auth, rate limits, bad bodies, unknown paths,
 * bugs anywhere in express) still answer in GraphQL's shape, as JSON with a code, so every
 * client parses every answer the same way; never express's HTML page.
 *
 * Status codes follow GraphQL-over-HTTP: a client that takes `application/json` (or says
 * nothing) gets 200 for a well-formed request refused at the GraphQL level (a query limit, a
 * rate limit, a parse or validation failure); routers such as @apollo/gateway read a non-2xx
 * answer as a transport failure and replace our code with their own. A client that prefers
 * `application/graphql-response+json` gets the 4xx that says what happened.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import Negotiator from 'negotiator';
import { ErrorCode } from '../publicErrors.js';
import type { Logger } from '../logger.js';
import { recordOf } from '../observability/requests.js';

const APPLICATION_JSON = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json; charset=utf-8';

/**
 * The media type of a GraphQL answer to this Accept header, as Apollo Server chooses it:
 * `application/json` when there is no header, or when both are equally acceptable.
 */
export function graphqlMediaType(accept: string | undefined): string {
  if (!accept) return APPLICATION_JSON;
  return (
    new Negotiator({ headers: { accept } }).mediaType([APPLICATION_JSON, GRAPHQL_RESPONSE_JSON]) ??
    APPLICATION_JSON
  );
}

/** The status of a GraphQL-level refusal: 200 for `application/json` answers, else `status`. */
export function graphqlLevelStatus(accept: string | undefined, status: number): number {
  return graphqlMediaType(accept) === APPLICATION_JSON ? 200 : status;
}

/** Refusals of a well-formed request that say something about the operation, not the transport. */
const GRAPHQL_LEVEL_CODES = new Set<ErrorCode>([
  ErrorCode.QueryLimitExceeded,
  ErrorCode.RateLimited,
]);

export function sendGraphQLError(
  response: Response,
  status: number,
  code: ErrorCode,
  message: string,
  options: {
    headers?: Record<string, string>;
    extensions?: Record<string, unknown>;
    /**
     * The request was a well-formed GraphQL request refused at the GraphQL level (not a bad
     * body or a missing key): `application/json` clients get 200 (see above). Default: true
     * for QUERY_LIMIT_EXCEEDED and RATE_LIMITED.
     */
    graphqlLevel?: boolean;
  } = {},
): void {
  recordOf(response)?.errorCodes.push(code);
  const accept = response.req.headers.accept;
  const graphqlLevel = options.graphqlLevel ?? GRAPHQL_LEVEL_CODES.has(code);
  response
    .status(graphqlLevel ? graphqlLevelStatus(accept, status) : status)
    .set(options.headers ?? {})
    .type(graphqlMediaType(accept))
    .send(JSON.stringify({ errors: [{ message, extensions: { code, ...options.extensions } }] }));
}

/** Thrown while reading a body whose JSON nests deeper than we walk. */
export class TooDeepError extends Error {
  readonly status = 400;
  readonly type = 'json.too.deep';
  constructor(readonly maxDepth: number) {
    super(`JSON nested more than ${maxDepth} levels deep`);
  }
}

const statusOf = (error: unknown): number | undefined =>
  typeof error === 'object' &&
  error !== null &&
  'status' in error &&
  typeof error.status === 'number' &&
  error.status >= 400 &&
  error.status < 600
    ? error.status
    : undefined;

/** body-parser's failures (too large, too deep, not JSON, bad charset) as GraphQL errors. */
export const bodyErrorHandler: ErrorRequestHandler = (error: unknown, _request, response, next) => {
  if (response.headersSent) return next(error);
  const status = statusOf(error) ?? 500;
  if (error instanceof TooDeepError)
    return sendGraphQLError(
      response,
      400,
      ErrorCode.BadRequest,
      `The request's JSON nests more than ${error.maxDepth} levels deep.`,
    );
  const type =
    typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : '';
  if (type === 'entity.too.large')
    return sendGraphQLError(response, 413, ErrorCode.BadRequest, 'The request body is too large.');
  if (status >= 400 && status < 500) {
    return sendGraphQLError(
      response,
      status,
      ErrorCode.BadRequest,
      'The request body is not valid JSON.',
    );
  }
  return next(error);
};

/** Any path nothing serves: a JSON error, not express's HTML "Cannot GET". */
export const notFound: RequestHandler = (request, response) => {
  sendGraphQLError(
    response,
    404,
    ErrorCode.BadRequest,
    `Nothing is served at ${request.method} ${request.path}: GraphQL is at /graphql.`,
  );
};

/**
 * The last error handler: whatever reached it (a router error, a bug in a handler) answers as a
 * GraphQL error with a code and is logged as one JSON line, never as express's HTML page and
 * stack trace on stderr. Client errors (4xx from express itself) say only what was wrong.
 */
export function finalErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request: Request, response, _next) => {
    const status = statusOf(error) ?? 500;
    if (status >= 500) logger.error({ err: error, path: request.path }, 'unexpected error');
    // Too late for an error answer: end the connection (what express would do, minus stderr).
    if (response.headersSent) return request.socket.destroy();
    if (status < 500)
      return sendGraphQLError(response, status, ErrorCode.BadRequest, 'The request is not valid.');
    sendGraphQLError(response, 500, ErrorCode.InternalServerError, 'Internal server error');
  };
}
