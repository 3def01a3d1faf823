/**
 * The shape of a GraphQL request, checked before Apollo parses anything: the body must be one
 * JSON object with a `query` string no longer than the document limit (or a persisted-query
 * hash); batches are refused.
 */
import type { RequestHandler } from 'express';
import { ErrorCode } from '../../publicErrors.js';
import { sendGraphQLError } from '../httpErrors.js';

export function requestShape(limits: { maxDocumentBytes: number }): RequestHandler {
  return (request, response, next) => {
    if (request.method !== 'POST') {
      const extensions = request.query.extensions;
      if (typeof extensions === 'string' && extensions.includes('persistedQuery')) {
        const parsed = parseJson(extensions);
        const persistedQuery =
          typeof parsed === 'object' && parsed !== null && 'persistedQuery' in parsed
            ? parsed.persistedQuery
            : undefined;
        if (!isPersistedQuery(persistedQuery)) return badPersistedQuery(response);
      }
      const query = request.query.query;
      if (typeof query === 'string' && Buffer.byteLength(query) > limits.maxDocumentBytes) {
        return documentTooLarge(response, Buffer.byteLength(query), limits.maxDocumentBytes);
      }
      return next();
    }
    if (!request.is('application/json')) {
      return sendGraphQLError(
        response,
        415,
        ErrorCode.BadRequest,
        'Send GraphQL requests as JSON (Content-Type: application/json).',
      );
    }
    const body: unknown = request.body;
    if (Array.isArray(body)) {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'Batched requests are not supported: send one operation per request.',
      );
    }
    if (typeof body !== 'object' || body === null) {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'The request body must be a JSON object with a "query".',
      );
    }
    const query = 'query' in body ? body.query : undefined;
    const extensions = 'extensions' in body ? body.extensions : undefined;
    const persisted =
      typeof extensions === 'object' && extensions !== null && 'persistedQuery' in extensions;
    if (persisted && !isPersistedQuery(extensions.persistedQuery))
      return badPersistedQuery(response);
    if (query === undefined && persisted) return next();
    if (typeof query !== 'string') {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'The request body must have a "query" string.',
      );
    }
    const bytes = Buffer.byteLength(query);
    if (bytes > limits.maxDocumentBytes)
      return documentTooLarge(response, bytes, limits.maxDocumentBytes);
    next();
  };
}

/** Automatic persisted queries: version 1 and a SHA-256 hash, nothing else. */
function isPersistedQuery(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'version' in value &&
    value.version === 1 &&
    'sha256Hash' in value &&
    typeof value.sha256Hash === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256Hash)
  );
}

function badPersistedQuery(response: Parameters<RequestHandler>[1]) {
  sendGraphQLError(
    response,
    400,
    ErrorCode.BadRequest,
    'extensions.persistedQuery must be { "version": 1, "sha256Hash": "<64 hex digits>" }.',
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function documentTooLarge(response: Parameters<RequestHandler>[1], actual: number, max: number) {
  sendGraphQLError(
    response,
    400,
    ErrorCode.QueryLimitExceeded,
    `The query document is ${actual} bytes; the limit is ${max}.`,
    {
      extensions: { limit: 'documentSize', max, actual },
    },
  );
}
