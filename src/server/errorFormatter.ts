/**
 * The single place where errors become what clients see. The layers below report failures in
 * their own terms (PolyvError, PaginationFailure, AccessDenied) and this maps them onto the public tables
 * (publicErrors.ts); Polyv failures keep Polyv's own code, message and requestId. Anything
 * without a public code is a bug on our side and becomes INTERNAL_SERVER_ERROR with no details
 * (those go to the log). Only those carry a stack trace, and only with `stackTraces` on
 * (GATEWAY_STACK_TRACES, on in development): a client's mistake is not a place in our code.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { AccessDenied } from '../auth/authorise.js';
import { FormattedLiveError } from '../live/hub.js';
import type { Logger } from '../logger.js';
import { PaginationFailure, type PaginationFailureKind } from '../pagination/failures.js';
import { PolyvBudgetExceeded, PolyvError } from '../polyv/errors.js';
import { ErrorCode, LimitReason, UnavailableReason } from '../publicErrors.js';

/** Codes Apollo Server itself assigns to request problems are already safe to show. */
const PUBLIC_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  ...Object.values(ApolloServerErrorCode).filter(
    (code) => code !== ApolloServerErrorCode.INTERNAL_SERVER_ERROR,
  ),
]);

/** Each pagination failure's public code. */
const PAGINATION_CODES: Record<
  PaginationFailureKind,
  { code: ErrorCode; reason?: UnavailableReason }
> = {
  badArgument: { code: ErrorCode.BadUserInput },
  staleCursor: { code: ErrorCode.StaleCursor },
  listChanging: { code: ErrorCode.UpstreamUnavailable, reason: UnavailableReason.ListChanging },
  tooLarge: { code: ErrorCode.QueryLimitExceeded },
};

/** Turns an error into what clients see; built once per gateway (src/gateway.ts). */
export type ErrorFormatter = (
  formatted: GraphQLFormattedError,
  error: unknown,
) => GraphQLFormattedError;

export function createErrorFormatter(
  logger: Logger,
  options: { stackTraces: boolean } = { stackTraces: false },
): ErrorFormatter {
  return (formatted, error) => {
    const original = unwrapResolverError(error);
    const { message, locations, path } = formatted;

    if (original instanceof PolyvError) {
      const polyv =
        original.polyvCode !== undefined || original.requestId !== undefined
          ? {
              code: original.polyvCode ?? null,
              message: original.polyvMessage ?? null,
              requestId: original.requestId ?? null,
            }
          : undefined;
      return {
        message: original.message,
        locations,
        path,
        extensions: {
          code: original.answered ? ErrorCode.UpstreamError : ErrorCode.UpstreamUnavailable,
          endpoint: original.endpoint,
          ...(original.reason !== undefined ? { reason: original.reason } : {}),
          ...(original.httpStatus !== undefined ? { httpStatus: original.httpStatus } : {}),
          attempts: original.attempts,
          ...(polyv ? { polyv } : {}),
        },
      };
    }

    if (original instanceof PolyvBudgetExceeded) {
      const calls = original.budget === 'calls';
      return {
        message: original.message,
        locations,
        path,
        extensions: {
          code: ErrorCode.QueryLimitExceeded,
          limit: calls ? 'upstreamCalls' : 'upstreamRecords',
          reason: calls ? LimitReason.UpstreamCallBudget : LimitReason.UpstreamRecordBudget,
          max: original.max,
          endpoint: original.endpoint,
        },
      };
    }

    if (original instanceof AccessDenied) {
      return {
        message: original.message,
        locations,
        path,
        extensions: { code: ErrorCode.Forbidden },
      };
    }

    // Formatted here already, when the live poll failed: as it was, told to every subscriber.
    if (original instanceof FormattedLiveError) {
      const { message, extensions } = original.formatted;
      return { message, locations, path, extensions };
    }

    if (original instanceof PaginationFailure) {
      const { code, reason } = PAGINATION_CODES[original.kind];
      return {
        message: original.message,
        locations,
        path,
        extensions: { code, ...(reason ? { reason } : {}), ...original.details },
      };
    }

    // A public code is the client's problem, never a bug of ours: no stack trace, even in
    // development (where Apollo adds one to every error).
    const code = formatted.extensions?.code;
    if (
      typeof code === 'string' &&
      code !== ErrorCode.InternalServerError &&
      PUBLIC_CODES.has(code)
    ) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { message, locations, path, extensions };
    }

    // Apollo reports some request problems (a persisted-query hash that does not match) as
    // errors without a code but with a 4xx status: they are the client's, not ours.
    const status = original instanceof GraphQLError ? httpStatusOf(original) : undefined;
    if (status !== undefined && status >= 400 && status < 500) {
      return { message, locations, path, extensions: { code: ErrorCode.BadRequest } };
    }

    // @apollo/subgraph reports representations it cannot use (no or unknown __typename, a
    // value that is not an ID) as plain errors: they are the client's input, not our bug.
    if (path?.[0] === '_entities') {
      return {
        message: `Invalid entity representation: ${message}`,
        locations,
        path,
        extensions: { code: ErrorCode.BadUserInput, argument: 'representations' },
      };
    }

    logger.error({ err: original, path }, 'unexpected error while resolving');
    const stacktrace =
      options.stackTraces && original instanceof Error
        ? { stacktrace: original.stack?.split('\n') }
        : {};
    return {
      message: 'Internal server error',
      locations,
      path,
      extensions: { code: ErrorCode.InternalServerError, ...stacktrace },
    };
  };
}

function httpStatusOf(error: GraphQLError): number | undefined {
  const http: unknown = error.extensions.http;
  return typeof http === 'object' &&
    http !== null &&
    'status' in http &&
    typeof http.status === 'number'
    ? http.status
    : undefined;
}
