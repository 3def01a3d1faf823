/**
 * Refusals that happen before GraphQL runs (auth, rate limits, bad bodies) still answer in
 * GraphQL's shape, so every client parses every answer the same way.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { ErrorCode } from '../errors.js';
import { recordOf } from '../observability/requests.js';

export function sendGraphQLError(
  response: Response,
  status: number,
  code: ErrorCode,
  message: string,
  options: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): void {
  recordOf(response)?.errorCodes.push(code);
  response
    .status(status)
    .set(options.headers ?? {})
    .type('application/json')
    .send(JSON.stringify({ errors: [{ message, extensions: { code, ...options.extensions } }] }));
}

/** body-parser's failures (too large, not JSON, bad charset) as GraphQL errors, never HTML. */
export const bodyErrorHandler: ErrorRequestHandler = (error: unknown, _request, response, next) => {
  if (response.headersSent) return next(error);
  const status =
    typeof error === 'object' &&
    error !== null &&
    'status' in error &&
    typeof error.status === 'number'
      ? error.status
      : 500;
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
