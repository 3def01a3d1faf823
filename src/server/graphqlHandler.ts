/**
 * The express handler that runs a GraphQL request through Apollo Server: what
 * @as-integrations/express5 does, plus the whole-response cache around it, so an answer is
 * looked up before Apollo runs and stored exactly as it is sent. Between the two, the document
 * is prepared (prepare.ts) as it is for every transport; Apollo then finds it prepared.
 *
 * The context an operation runs with is declared here, with `createContext`, which builds it:
 * what the resolvers get (schema/context.ts), with what the server reads back. One is built for
 * each request this handler runs (from what app.ts gives it) and for each subscription
 * (subscriptions.ts).
 */
import type { ApolloServer, HTTPGraphQLRequest } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError, Kind, type GraphQLFormattedError } from 'graphql';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import type { Principal } from '../auth/apiKeys.js';
import { recordOf, type RequestRecord } from '../observability/requests.js';
import { CallBudget, RecordBudget, type PolyvPages } from '../polyv/pages.js';
import type { TokenBuckets } from '../ratelimit/tokenBucket.js';
import type { LiveContext, ResolverContext } from '../schema/context.js';
import { clientOf, principalOf } from './access.js';
import { CachePolicy } from './httpAnswer.js';
import { graphqlLevelStatus, graphqlMediaType } from './httpErrors.js';
import { answerTooLarge } from './limits/runtime.js';
import { SUBSCRIPTIONS_NEED_A_STREAM } from './limits/validation.js';
import { PREPARE_MS_PER_REQUEST, withCode, type OperationPreparer } from './prepare.js';
import { rawBodyOf } from './requestShape.js';
import { ResponseCache } from './responseCache.js';

/**
 * The per-request context as the server holds it: what resolvers get (schema/context.ts), with
 * the cache policy the server reads back and the request's record.
 */
export interface GatewayContext extends ResolverContext {
  /** Epoch ms by which the request must be answered. */
  deadline: number;
  /** The client asked for fresh data (Cache-Control: no-cache). */
  fresh: boolean;
  /** How long this answer may be reused: restricted by what the resolvers used. */
  cachePolicy: CachePolicy;
  /** The request's record for logs, metrics and traces; absent outside the HTTP path. */
  record: RequestRecord | undefined;
}

export interface ContextDependencies {
  /** Upstream calls the request may make, at run time (GATEWAY_MAX_UPSTREAM_CALLS). */
  maxUpstreamCalls: number;
  /** Upstream records the request may fetch and hold, at run time (GATEWAY_MAX_UPSTREAM_RECORDS). */
  maxUpstreamRecords: number;
  pages: PolyvPages;
  accountId: string;
  principal: Principal;
  /** Who is asking, as the upstream's fair queue tells clients apart (see access.ts clientOf). */
  client: string;
  deadline: number;
  fresh: boolean;
  record: RequestRecord | undefined;
  summaryMaxRecords: number;
  live?: LiveContext | undefined;
}

export function createContext({
  pages,
  client,
  maxUpstreamCalls,
  maxUpstreamRecords,
  ...request
}: ContextDependencies): GatewayContext {
  const cachePolicy = new CachePolicy();
  return {
    polyv: {
      pages,
      options: {
        client,
        deadline: request.deadline,
        fresh: request.fresh,
        tally: request.record,
        budget: new CallBudget(maxUpstreamCalls),
        // Every page the answer reads makes it as old as that page.
        freshness: cachePolicy,
      },
      held: new RecordBudget(maxUpstreamRecords),
    },
    cachePolicy,
    client,
    ...request,
  };
}

export interface GraphQLHandlerOptions {
  context: (request: Request, response: Response) => Promise<GatewayContext>;
  /** Whole-response cache; absent: every request executes. */
  responseCache: ResponseCache | undefined;
  /** Whether this request asks for fresh data (skips the lookup). */
  wantsFresh: (request: Request) => boolean;
  /** Largest answer, in bytes of JSON: a larger one is replaced by a coded error. */
  maxResponseBytes: number;
  /** The one step every operation's document passes (prepare.ts). */
  preparer: OperationPreparer;
  /** Automatic persisted queries, as Apollo keeps them: a hash finds its text here first. */
  persistedQueries: KeyValueCache<string>;
  /** Where the CPU a document costs to prepare is charged. */
  clientBuckets: TokenBuckets;
  /** The one error formatter. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
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
          // Every answer says how old it is (Age); this one also says it is a replay (RFC 9211).
          response.setHeader('cache-status', 'polyv-graphql; hit');
          response.setHeader('content-length', hit.body.length);
          response.end(request.method === 'HEAD' ? undefined : hit.body);
          return;
        }
      }

      const source = await sourceOf(request, options.persistedQueries);
      if (source !== undefined) {
        const { prepared, spentMs } = options.preparer.prepare(source);
        const tokens = Math.floor(spentMs / PREPARE_MS_PER_REQUEST);
        if (tokens > 0) await options.clientBuckets.charge(clientOf(request, response), tokens);
        const refused =
          'errors' in prepared
            ? prepared.errors
            : prepared.document.definitions.flatMap((definition) =>
                definition.kind === Kind.OPERATION_DEFINITION &&
                definition.operation === 'subscription'
                  ? [
                      withCode(
                        new GraphQLError(SUBSCRIPTIONS_NEED_A_STREAM, { nodes: definition }),
                        ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
                      ),
                    ]
                  : [],
              );
        if (refused.length > 0) return sendErrors(request, response, refused, options.formatError);
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
      let context: GatewayContext | undefined;
      const answer = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: async () => (context = await options.context(request, response)),
      });
      for (const [key, value] of answer.headers) response.setHeader(key, value);
      response.statusCode = answer.status ?? 200;

      if (answer.body.kind === 'complete') {
        // Encoded once: the bytes are what the bound checks (walking the result object to
        // estimate them cost a tenth of a cold request's CPU) and what is sent.
        const bytes = Buffer.from(answer.body.string);
        if (bytes.length > options.maxResponseBytes) {
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
        response.send(bytes);
        if (cache)
          await cache.store(
            principal,
            requestKey,
            response.statusCode,
            answer.headers.get('cache-control'),
            answer.body.string,
            // As old as its oldest page: stored only for what is left of its freshness.
            context?.cachePolicy.dataAt,
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

/**
 * The document text a request runs: its `query`, or the text its persisted-query hash stands for
 * (undefined when neither is there: Apollo answers that request as it always does).
 */
async function sourceOf(
  request: Request,
  persistedQueries: KeyValueCache<string>,
): Promise<string | undefined> {
  const parameters: unknown = request.method === 'POST' ? request.body : request.query;
  if (typeof parameters !== 'object' || parameters === null) return undefined;
  const { query, extensions } = parameters as { query?: unknown; extensions?: unknown };
  if (typeof query === 'string') return query;
  const persisted = (typeof extensions === 'string' ? parseJson(extensions) : extensions) as
    { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const hash = persisted?.persistedQuery?.sha256Hash;
  if (typeof hash !== 'string') return undefined;
  // Apollo's own key for it (APQ_CACHE_PREFIX).
  return (await persistedQueries.get(`apq:${hash}`)) ?? undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Refusals before execution, answered as Apollo answers them (graphql-level status, JSON). */
function sendErrors(
  request: Request,
  response: Response,
  errors: readonly GraphQLError[],
  formatError: GraphQLHandlerOptions['formatError'],
): void {
  const accept = request.headers.accept;
  const record = recordOf(response);
  const formatted = errors.map((error) => {
    const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
    record?.errorCodes.push(String(extensions.code));
    return formatError({ ...error.toJSON(), extensions }, error);
  });
  const status = (errors[0]?.extensions.http as { status?: number } | undefined)?.status ?? 400;
  response.statusCode = graphqlLevelStatus(accept, status);
  response.setHeader('content-type', `${graphqlMediaType(accept)}`);
  response.setHeader('cache-control', 'no-store');
  response.end(JSON.stringify({ errors: formatted }) + '\n');
}
