/**
 * Who may ask, and how often: express middleware in front of GraphQL.
 * Authentication resolves the API key to a principal (or answers 401); the per-principal token
 * bucket answers RATE_LIMITED with Retry-After. Both run before the body is read, and before any
 * execution or upstream call.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ANONYMOUS, authenticate, type ApiKey, type Principal } from '../auth/apiKeys.js';
import { ErrorCode } from '../publicErrors.js';
import type { TokenBuckets } from '../ratelimit/tokenBucket.js';
import { sendGraphQLError } from './httpErrors.js';

/** The principal the access middleware attached to this response. */
export function principalOf(response: Response): Principal {
  const principal: unknown = response.locals.principal;
  return isPrincipal(principal) ? principal : ANONYMOUS;
}

const isPrincipal = (value: unknown): value is Principal =>
  typeof value === 'object' && value !== null && 'name' in value && 'channels' in value;

/** `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(
  authorization: string | undefined,
  apiKeyHeader: string | string[] | undefined,
): string | undefined {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) return bearer;
  return typeof apiKeyHeader === 'string' && apiKeyHeader.trim() !== ''
    ? apiKeyHeader.trim()
    : undefined;
}

/**
 * Resolves the presented key to a principal, from the headers alone: it runs before the body
 * is read, so a client without a valid key never costs a parse. Failed attempts are counted per
 * client address; past that bucket they get 429 instead of 401.
 */
export function authentication(
  auth: { mode: 'keys'; keys: ApiKey[] } | { mode: 'off' },
  buckets: TokenBuckets,
): RequestHandler {
  return (request, response, next) => {
    if (auth.mode === 'off') {
      response.locals.principal = ANONYMOUS;
      return next();
    }
    const key = presentedKey(request.headers.authorization, request.headers['x-api-key']);
    const principal = key === undefined ? undefined : authenticate(auth.keys, key);
    if (principal) {
      response.locals.principal = principal;
      return next();
    }
    buckets.take(`unauthenticated:${addressOf(request)}`).then((taken) => {
      // Not a GraphQL-level refusal: an unauthenticated client gets the HTTP status as is.
      if (!taken.ok) return tooManyRequests(response, taken.retryAfterMs, { graphqlLevel: false });
      sendGraphQLError(response, 401, ErrorCode.Unauthenticated, unauthenticated(request, key), {
        headers: { 'www-authenticate': 'Bearer realm="polyv-graphql"' },
      });
    }, next);
  };
}

/** Why a request has no principal, said so the client can fix it. */
function unauthenticated(request: Request, key: string | undefined): string {
  if (key !== undefined) return 'The API key is not valid.';
  const how = 'send it as "Authorization: Bearer <key>" or "x-api-key: <key>".';
  // A key pasted alone, or behind another scheme (`Authorization: <key>`, `Token <key>`).
  if ((request.headers.authorization ?? '').trim() !== '')
    return `The Authorization header is not in the form "Authorization: Bearer <key>": ${how}`;
  return `An API key is required: ${how}`;
}

/**
 * Who the client is, for limits shared between clients: the API key's name, or the client's
 * address when auth is off.
 */
export function clientOf(request: Request, response: Response): string {
  const principal = principalOf(response);
  return principal === ANONYMOUS ? `ip:${addressOf(request)}` : `key:${principal.name}`;
}

/**
 * One token bucket per client (clientOf). `graphqlLevel: false` (exports): the refusal keeps
 * its 429 for every client, as a download must not look like a 200.
 */
export function rateLimiting(
  buckets: TokenBuckets,
  options: { graphqlLevel: boolean } = { graphqlLevel: true },
): RequestHandler {
  return (request, response, next) => {
    buckets.take(clientOf(request, response)).then((taken) => {
      if (taken.ok) return next();
      tooManyRequests(response, taken.retryAfterMs, options);
    }, next);
  };
}

/**
 * The client's address: the peer, or what a trusted proxy says (GATEWAY_TRUST_PROXY; express
 * resolves X-Forwarded-For only as far as that setting allows).
 */
export const addressOf = (request: Request) => request.ip ?? 'unknown';

function tooManyRequests(
  response: Response,
  retryAfterMs: number,
  options: { graphqlLevel: boolean },
): void {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  sendGraphQLError(
    response,
    429,
    ErrorCode.RateLimited,
    `Too many requests for ${principalOf(response).name}; retry in ${seconds} s.`,
    {
      headers: { 'retry-after': String(seconds) },
      extensions: { retryAfterSeconds: seconds },
      graphqlLevel: options.graphqlLevel,
    },
  );
}
