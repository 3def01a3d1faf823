/**
 * The shape of a GraphQL request, checked before Apollo parses anything: the body must be one
 * JSON object with a `query` string no longer than the document limit (or a persisted-query
 * hash); batches are refused.
 */
import type { RequestHandler } from 'express';
import { ErrorCode } from '../../publicErrors.js';
import { sendGraphQLError } from '../httpErrors.js';

/** What a GET with nothing to run is told: which header it needs, and what a browser finds here. */
export interface GetHelp {
  /** API keys are off: a GET needs `apollo-require-preflight` (csrf.ts). */
  preflightHeader: boolean;
  /** The playground is served here to browsers. */
  playground: boolean;
}

export function requestShape(limits: { maxDocumentBytes: number }, help: GetHelp): RequestHandler {
  const nothingToRun = nothingToRunMessage(help);
  return (request, response, next) => {
    if (request.method !== 'POST') {
      // `curl …/graphql`: say how to ask, rather than what a GET with an operation lacks.
      if (
        (request.method === 'GET' || request.method === 'HEAD') &&
        request.query.query === undefined &&
        request.query.extensions === undefined
      )
        return sendGraphQLError(response, 400, ErrorCode.BadRequest, nothingToRun);
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

function nothingToRunMessage({ preflightHeader, playground }: GetHelp): string {
  return (
    'This GET has no operation to run. Put it in the URL, URL-encoded: ' +
    '/graphql?query=%7B__typename%7D (variables as &variables=<JSON>)' +
    (preflightHeader ? ', with the header `apollo-require-preflight: true`' : '') +
    '; or POST it as JSON, {"query": "{ __typename }"}, with Content-Type: application/json.' +
    (playground ? ' In a browser, this address opens the playground.' : '')
  );
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
