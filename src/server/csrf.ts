/**
 * Cross-site request forgery prevention for every request to /graphql, queries and event streams
 * alike: a browser sends a GET, or a POST with a "simple" content type, from any page without
 * asking first (no CORS preflight), and with API keys off nothing else tells such a request
 * from the user's own. So those must carry a header no page can add without a preflight, as
 * Apollo Server's own prevention asks (`apollo-require-preflight` or `x-apollo-operation-name`;
 * any non-simple content type counts too). With API keys on this adds nothing (a key travels in
 * a header, which forces the preflight), so it runs with keys off only.
 *
 * It runs once, here, instead of inside Apollo: the event-stream transport and the response
 * cache answer before Apollo ever sees the request. (A POST with a simple content type never
 * gets this far: only JSON bodies are read, the rest are refused with 415.)
 */
import type { RequestHandler } from 'express';
import { ErrorCode } from '../publicErrors.js';
import { sendGraphQLError } from './httpErrors.js';

/** Content types a browser sends cross-site without a preflight. */
const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]);
/** Headers a page cannot set without a preflight: any non-empty one proves there was one. */
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

export function csrfPrevention(): RequestHandler {
  return (request, response, next) => {
    const contentType = request.headers['content-type'];
    if (contentType !== undefined) {
      const essence = contentType.split(';')[0]!.trim().toLowerCase();
      // A type a browser would not send without a preflight (or could not send at all).
      if (!MEDIA_TYPE.test(essence) || !SIMPLE_CONTENT_TYPES.has(essence)) return next();
    }
    if (PREFLIGHT_HEADERS.some((name) => (request.headers[name] ?? '').length > 0)) return next();
    const what = request.method === 'GET' || request.method === 'HEAD' ? 'GET' : 'request';
    sendGraphQLError(
      response,
      400,
      ErrorCode.BadRequest,
      `This ${what} was refused as a possible cross-site request forgery (CSRF): any web page could make a browser send it. ` +
        'Add the header `apollo-require-preflight: true` (curl: -H "apollo-require-preflight: true"), ' +
        'or POST the operation as JSON (Content-Type: application/json).',
      { graphqlLevel: false },
    );
  };
}
