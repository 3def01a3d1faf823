/**
 * A bound on how deeply request JSON may nest, checked on the raw bytes before anything parses
 * or walks them. JSON.parse copes with any depth, but everything after it recurses
 * (JSON.stringify, GraphQL's variable coercion, loggers): 40,000 nested arrays in `variables`
 * used to overflow the stack in the response-cache key and answer with an HTML 500.
 *
 * The scan is one loop over the bytes with a counter, so it cannot overflow whatever it reads.
 */
import type { Request, RequestHandler } from 'express';
import { sendGraphQLError, TooDeepError } from './httpErrors.js';
import { ErrorCode } from '../publicErrors.js';

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
