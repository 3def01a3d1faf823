/**
 * What a GraphQL request must be before Apollo parses anything, checked in express's pipeline
 * (server/app.ts): JSON that nests no deeper than a bound, then the shape of a request. The body
 * must be one JSON object with a `query` string no longer than the document limit (or a
 * persisted-query hash); batches are refused. A GET is held to the same in its URL.
 *
 * The depth is checked on the raw bytes before anything parses or walks them. JSON.parse copes
 * with any depth, but everything after it recurses (JSON.stringify, GraphQL's variable
 * coercion, loggers): 40,000 nested arrays in `variables` used to overflow the stack in the
 * response-cache key and answer with an HTML 500. The scan is one loop over the bytes with a
 * counter, so it cannot overflow whatever it reads. The raw bytes are kept too: they are what
 * the response cache keys on (graphqlHandler.ts).
 */
import type { Request, RequestHandler } from 'express';
import { ErrorCode } from '../publicErrors.js';
import { sendGraphQLError, TooDeepError } from './httpErrors.js';

/** Deepest nesting of objects and arrays a request's JSON may have. Real requests use < 10. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }

/**
 * Whether `json` nests objects and arrays more than `maxDepth` deep. Brackets inside strings do
 * not count. UTF-8 continuation bytes are all >= 0x80, so scanning bytes is exact. Malformed
 * JSON is left to the parser.
 */
export function nestsDeeperThan(json: Uint8Array | string, maxDepth: number): boolean {
  const bytes = typeof json === 'string' ? Buffer.from(json) : json;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (OPEN.has(byte)) {
      if (++depth > maxDepth) return true;
    } else if (CLOSE.has(byte)) depth--;
  }
  return false;
}

const rawBodies = new WeakMap<Request, Buffer>();

/** The body's bytes exactly as received (POST only): what the response cache keys on. */
export const rawBodyOf = (request: Request): Buffer | undefined => rawBodies.get(request);

/**
 * express.json's `verify` hook: sees the raw bytes before they are parsed, keeps them, and
 * refuses them (BAD_REQUEST, via bodyErrorHandler) if they nest too deep.
 */
export function verifyJsonBody(request: Request, _response: unknown, body: Buffer): void {
  rawBodies.set(request, body);
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) throw new TooDeepError(MAX_JSON_DEPTH);
}

/** The same bound on a GET's `variables` and `extensions` parameters (JSON in the URL). */
export const boundedQueryParameters: RequestHandler = (request, response, next) => {
  for (const name of ['variables', 'extensions']) {
    const value: unknown = request.query[name];
    const texts = Array.isArray(value) ? value : [value];
    if (texts.some((text) => typeof text === 'string' && nestsDeeperThan(text, MAX_JSON_DEPTH)))
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        `The request's JSON nests more than ${MAX_JSON_DEPTH} levels deep.`,
      );
  }
  next();
};

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
