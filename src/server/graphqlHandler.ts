/**
 * The express handler that runs a GraphQL request through Apollo Server: what
 * @as-integrations/express5 does, plus the whole-response cache around it, so an answer is
 * looked up before Apollo runs and stored exactly as it is sent.
 */
import type { ApolloServer, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import { recordOf } from '../observability/requests.js';
import { principalOf } from './access.js';
import type { GatewayContext } from './context.js';
import { graphqlMediaType } from './httpErrors.js';
import { rawBodyOf } from './jsonDepth.js';
import { answerTooLarge } from './limits/runtime.js';
import { ResponseCache } from './responseCache.js';

export interface GraphQLHandlerOptions {
  context: (request: Request, response: Response) => Promise<GatewayContext>;
  /** Whole-response cache; absent: every request executes. */
  responseCache: ResponseCache | undefined;
  /** Whether this request asks for fresh data (skips the lookup). */
  wantsFresh: (request: Request) => boolean;
  /** Largest answer, in bytes of JSON: a larger one is replaced by a coded error. */
  maxResponseBytes: number;
}

export function graphqlHandler(
  apollo: ApolloServer<GatewayContext>,
  options: GraphQLHandlerOptions,
): RequestHandler {
  return async (request, response, next) => {
    try {
      const search = request.originalUrl.includes('?')
        ? request.originalUrl.slice(request.originalUrl.indexOf('?'))
        : '';
      const principal = principalOf(response);
      const cache = options.responseCache;
      const traceHeader = request.headers['apollo-federation-include-trace'];
      const requestKey = cache
        ? ResponseCache.requestKey(
            (request.method === 'POST' ? rawBodyOf(request) : undefined) ?? search,
            typeof traceHeader === 'string' ? traceHeader : undefined,
          )
        : '';

      if (cache && !options.wantsFresh(request)) {
        const hit = await cache.lookup(principal, requestKey);
        const record = recordOf(response);
        if (record) record.responseCache = hit ? 'hit' : 'miss';
        if (hit) {
          // Sent as stored, past express's send (no re-encoding, no freshness checks).
          response.statusCode = 200;
          // Only error-free answers are stored: the same bytes serve either media type.
          response.setHeader(
            'content-type',
            `${graphqlMediaType(request.headers.accept)}; charset=utf-8`,
          );
          response.setHeader('cache-control', hit.cacheControl);
          response.setHeader('age', String(hit.age));
          response.setHeader('content-length', hit.body.length);
          response.end(request.method === 'HEAD' ? undefined : hit.body);
          return;
        }
      }

      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const httpGraphQLRequest: HTTPGraphQLRequest = {
        method: request.method.toUpperCase(),
        headers,
        search,
        body: request.body,
      };
      const answer = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: () => options.context(request, response),
      });
      for (const [key, value] of answer.headers) response.setHeader(key, value);
      response.statusCode = answer.status ?? 200;

      if (answer.body.kind === 'complete') {
        // The bound is checked on the bytes themselves, where they are paid for: Apollo has
        // built the string anyway, and measuring it is one native call (walking the result
        // object to estimate it cost a tenth of a cold request's CPU).
        if (Buffer.byteLength(answer.body.string) > options.maxResponseBytes) {
          const error = answerTooLarge(options.maxResponseBytes);
          recordOf(response)?.errorCodes.push(String(error.extensions.code));
          response.setHeader('cache-control', 'no-store');
          response.send(
            JSON.stringify({
              data: null,
              errors: [{ message: error.message, extensions: error.extensions }],
            }) + '\n',
          );
          return;
        }
        response.send(answer.body.string);
        if (cache)
          await cache.store(
            principal,
            requestKey,
            response.statusCode,
            answer.headers.get('cache-control'),
            answer.body.string,
          );
        return;
      }
      for await (const chunk of answer.body.asyncIterator) response.write(chunk);
      response.end();
    } catch (error) {
      next(error);
    }
  };
}
