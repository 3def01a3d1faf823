/**
 * The HTTP server: Apollo Server (our subgraph schema) on /graphql behind express, plus
 * /healthz, the playground and the example dashboard. The order of the middleware is the order
 * of the checks: CORS, who is asking and how often (from the headers alone), body size, nesting
 * and shape, then GraphQL (limits, then execution). Every answer, error or not, is JSON.
 * Nothing here reads the environment: it is all in the configuration it is given.
 */
import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import cors from 'cors';
import express from 'express';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { PolyvPages } from '../polyv/pages.js';
import type { TokenBuckets } from '../ratelimit/tokenBucket.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { observeRequests, recordOf, recordPlugin } from '../observability/requests.js';
import { buildSchema } from '../schema/index.js';
import { authentication, clientOf, principalOf, rateLimiting } from './access.js';
import { httpAnswerPlugin, wantsFreshData } from './httpAnswer.js';
import { metricsHandler } from './metricsEndpoint.js';
import type { ErrorFormatter } from './errorFormatter.js';
import { compiledExecutor } from './executor.js';
import { createContext, graphqlHandler, type GatewayContext } from './graphqlHandler.js';
import { ResponseCache } from './responseCache.js';
import { bodyErrorHandler, finalErrorHandler, notFound } from './httpErrors.js';
import { executionGate, queryLimitsPlugin } from './limits/runtime.js';
import { csrfPrevention } from './csrf.js';
import { OperationPreparer } from './prepare.js';
import { boundedQueryParameters, requestShape, verifyJsonBody } from './requestShape.js';
import { KnownOperationTypes, SubscriptionsNeedAStream } from './limits/validation.js';
import { checkPlaygroundAssets, playgroundRouter, type PlaygroundOptions } from './playground.js';
import { checkDashboardAssets, DASHBOARD_PATH, dashboardRouter } from './dashboard.js';
import { landingRouter, type DemoSummary } from './landing.js';
import type { LiveHub } from '../live/hub.js';
import { liveTransports } from './subscriptions.js';
import { EXPORT_PATH, exportHandler } from './exports/index.js';

export interface GatewayServerOptions {
  config: Pick<
    GatewayConfig,
    'auth' | 'limits' | 'server' | 'http' | 'cache' | 'live' | 'execution' | 'exports'
  >;
  /** Polyv, through the page cache. */
  pages: PolyvPages;
  /** Per-principal request buckets (shared by replicas with Redis). */
  clientBuckets: TokenBuckets;
  /** Whole-response cache (where answers are stored, and bytes kept encoded); absent: off. */
  responseCache: { store: KeyValueCache<string>; encodedMaxBytes: number } | undefined;
  /** Automatic persisted queries. */
  persistedQueries: KeyValueCache<string>;
  metrics: GatewayMetrics;
  /** Why the gateway should not get traffic now (empty: ready). */
  notReadyBecause: () => Promise<string[]>;
  /** Serve /metrics on the main port (else the caller serves it elsewhere, or nowhere). */
  metricsOnMainPort: boolean;
  /** Bearer token /metrics requires; absent: none. */
  metricsToken?: string | undefined;
  /** The Polyv account whose income is reported. */
  accountId: string;
  logger: Logger;
  /**
   * Serve GraphiQL at GET /graphql (and /) and the example dashboard at GET /dashboard, both
   * opened on this example; absent: neither.
   */
  playground?: Omit<PlaygroundOptions, 'endpoint'> | undefined;
  /** The built-in emulator's demo (its channels, days and control API); absent: real Polyv. */
  demo?: DemoSummary | undefined;
  /** Live updates: this process's subscribers (WebSocket and SSE on /graphql). */
  live: LiveHub;
  /** The one error formatter (errorFormatter.ts), shared with live updates' polls. */
  formatError: ErrorFormatter;
}

export interface GatewayServer {
  /** Base URL, e.g. http://127.0.0.1:4000; GraphQL is at `${url}/graphql`. */
  url: string;
  httpServer: http.Server;
  /** Stops accepting connections, lets in-flight requests finish (within the grace period), closes. */
  stop(): Promise<void>;
}

/** Where GraphQL is served. */
export const GRAPHQL_PATH = '/graphql';

export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const { config, logger } = options;
  const app = express();
  app.disable('x-powered-by');
  // ETags would hash every (large) answer; freshness is what Cache-Control and Age describe.
  app.set('etag', false);
  // Who may tell us the client's address (X-Forwarded-For), for per-address limits: nobody
  // unless configured, or a client could pick a fresh address for every request.
  app.set('trust proxy', config.http.trustProxy);
  // Room for GET queries up to the document limit, so that limit (not Node's) answers them.
  const httpServer = http.createServer({ maxHeaderSize: 64 * 1024 }, app);
  // Longer than the idle timeout of what pools connections to us (GATEWAY_KEEP_ALIVE_TIMEOUT_S).
  httpServer.keepAliveTimeout = config.server.keepAliveTimeoutMs;

  const schema = buildSchema();
  const { formatError } = options;
  // The one step every operation passes, and the one gate every execution takes a turn in,
  // whatever the transport (prepare.ts, limits/runtime.ts).
  const preparer = new OperationPreparer({
    schema,
    limits: config.limits,
    hideSchemaDetails: config.http.hideSchemaDetails,
    introspection: config.http.introspection,
  });
  const gate = executionGate(config.limits);
  const apollo = new ApolloServer<GatewayContext>({
    // Our one schema, executed by compiled code (executor.ts) unless switched off.
    gateway: compiledExecutor(schema, { compiled: config.execution.compiled }),
    // Apollo's own notices go to our log, as JSON like every other line.
    logger: logger.child({ component: 'apollo' }),
    formatError,
    // Apollo then adds a stack trace to every error; the formatter keeps one on internal errors
    // only (a client's mistake is not a place in our code), and Apollo's own answer when the
    // formatter itself throws keeps its trace too.
    includeStacktraceInErrorResponses: config.http.stackTraces,
    introspection: config.http.introspection,
    // No "Did you mean …?" in production: it spells out the schema to whoever guesses.
    hideSchemaDetailsFromClientErrors: config.http.hideSchemaDetails,
    // CSRF prevention is ours (csrf.ts), in front of every transport and the response cache.
    csrfPrevention: false,
    // Documents arrive prepared (prepare.ts): Apollo neither parses nor validates them again.
    // Its own rules and parser bound stay for a document that reached it unprepared (none should).
    documentStore: preparer.documentStore,
    validationRules: [KnownOperationTypes, SubscriptionsNeedAStream],
    persistedQueries: { cache: options.persistedQueries, ttl: 24 * 60 * 60 },
    parseOptions: { maxTokens: Math.max(1_000, Math.floor(config.limits.maxDocumentBytes / 2)) },
    // Shutdown is ours (src/index.ts): Apollo's handler would re-raise the signal and skip it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({
        httpServer,
        stopGracePeriodMillis: config.server.shutdownGraceMs,
      }),
      // Apollo's default landing page loads from a CDN; our own playground replaces it.
      ApolloServerPluginLandingPageDisabled(),
      queryLimitsPlugin(config.limits, gate),
      // Our own cache hints (httpAnswer.ts) replace Apollo's per-field cache-control plugin.
      ApolloServerPluginCacheControlDisabled(),
      // The answer's cache headers and its GraphQL-over-HTTP status.
      httpAnswerPlugin({ schema, privateAnswers: config.auth.mode === 'keys' }),
      recordPlugin(),
    ],
  });
  await apollo.start();

  // Subscriptions: WebSocket upgrades of /graphql, and its event-stream requests (below).
  const live = liveTransports(httpServer, {
    schema,
    preparer,
    gate,
    path: GRAPHQL_PATH,
    auth: config.auth,
    clientBuckets: options.clientBuckets,
    limits: config.limits,
    live: config.live,
    corsOrigins: config.http.corsOrigins,
    trustProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
    formatError,
    logger,
    // An event carries its data: a subscription may make no upstream call of its own.
    context: (principal, client, live) =>
      createContext({
        pages: options.pages,
        accountId: options.accountId,
        principal,
        client,
        deadline: Number.MAX_SAFE_INTEGER,
        fresh: false,
        record: undefined,
        summaryMaxRecords: config.limits.summaryMaxRecords,
        maxUpstreamCalls: 0,
        maxUpstreamRecords: 0,
        live: { hub: options.live, ...live },
      }),
  });

  const corsOrigins = config.http.corsOrigins;
  app.use(
    cors({
      origin: corsOrigins === '*' ? true : corsOrigins.length > 0 ? corsOrigins : false,
      maxAge: 600,
    }),
  );

  // Liveness: the process answers. Readiness: it should get traffic (see notReadyBecause).
  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', async (_request, response) => {
    const reasons = await options.notReadyBecause();
    response
      .status(reasons.length === 0 ? 200 : 503)
      .json(reasons.length === 0 ? { status: 'ready' } : { status: 'not ready', reasons });
  });
  if (options.metricsOnMainPort)
    app.get('/metrics', metricsHandler(options.metrics, options.metricsToken));
  app.use(
    landingRouter({
      endpoint: GRAPHQL_PATH,
      playground: options.playground !== undefined,
      dashboardPath: options.playground ? DASHBOARD_PATH : undefined,
      metricsOnMainPort: options.metricsOnMainPort,
      demo: options.demo,
    }),
  );
  if (options.playground) {
    checkPlaygroundAssets();
    checkDashboardAssets();
    app.use(
      playgroundRouter({
        endpoint: GRAPHQL_PATH,
        ...options.playground,
        demoChannels: options.demo?.channels,
      }),
    );
    app.use(dashboardRouter({ endpoint: GRAPHQL_PATH, ...options.playground }));
  }

  // Exports (exports/): the same key, rate limit and CSRF checks as GraphQL, in the same order.
  app.use(
    EXPORT_PATH,
    observeRequests({
      logger,
      metrics: options.metrics,
      principalName: (response) => principalOf(response).name,
      kind: 'export',
    }),
    authentication(config.auth, options.clientBuckets),
    rateLimiting(options.clientBuckets, { graphqlLevel: false }),
    ...(config.auth.mode === 'off' ? [csrfPrevention()] : []),
    exportHandler({
      pages: options.pages,
      accountId: options.accountId,
      limits: { ...config.exports, stallMs: config.limits.requestTimeoutMs },
      metrics: options.metrics,
      logger,
      formatError,
    }),
  );

  app.use(
    GRAPHQL_PATH,
    observeRequests({
      logger,
      metrics: options.metrics,
      principalName: (response) => principalOf(response).name,
    }),
    // Who is asking and how often are decided from the headers, before the body is read.
    authentication(config.auth, options.clientBuckets),
    rateLimiting(options.clientBuckets),
    boundedQueryParameters,
    express.json({ limit: config.limits.maxBodyBytes, verify: verifyJsonBody }),
    bodyErrorHandler,
    requestShape(config.limits, {
      preflightHeader: config.auth.mode === 'off',
      playground: options.playground !== undefined,
    }),
    // With keys off, a request any page could make a browser send is refused (csrf.ts), before
    // an event stream starts or a cached answer is replayed.
    ...(config.auth.mode === 'off' ? [csrfPrevention()] : []),
    live.sse,
    graphqlHandler(apollo, {
      responseCache: options.responseCache
        ? new ResponseCache(options.responseCache.store, options.responseCache.encodedMaxBytes)
        : undefined,
      wantsFresh: (request) =>
        wantsFreshData(request.headers['cache-control'], request.headers.pragma),
      maxResponseBytes: config.limits.maxResponseBytes,
      preparer,
      persistedQueries: options.persistedQueries,
      clientBuckets: options.clientBuckets,
      formatError,
      context: async (request, response) =>
        createContext({
          pages: options.pages,
          accountId: options.accountId,
          principal: principalOf(response),
          client: clientOf(request, response),
          deadline: Date.now() + config.limits.requestTimeoutMs,
          fresh: wantsFreshData(request.headers['cache-control'], request.headers.pragma),
          record: recordOf(response),
          summaryMaxRecords: config.limits.summaryMaxRecords,
          maxUpstreamCalls: config.limits.maxUpstreamCalls,
          maxUpstreamRecords: config.limits.maxUpstreamRecords,
        }),
    }),
  );

  // Whatever nothing above answered or handled: JSON errors with a code, never HTML.
  app.use(notFound);
  app.use(finalErrorHandler(logger));

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.server.port, config.server.host, resolve);
    });
  } catch (error) {
    // The port is taken (or not ours): release what Apollo started before saying so.
    await apollo.stop().catch(() => undefined);
    throw error;
  }
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host =
    config.server.host === '0.0.0.0' || config.server.host === '::'
      ? '127.0.0.1'
      : config.server.host;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    httpServer,
    async stop() {
      // Live connections end first (a subscription has no end to wait for), then the drain
      // plugin stops accepting and waits for in-flight requests up to the grace period.
      await options.live.close();
      await live.close();
      await apollo.stop();
    },
  };
}
