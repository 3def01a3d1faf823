/**
 * Assembles a running gateway from a validated configuration: Polyv (the real one or the
 * built-in emulator), shared state (Redis when configured, else in process), the Polyv guard,
 * the one signed client behind the page cache, and the HTTP server.
 */
import { SharedRedis } from './cache/redis.js';
import { SharedCache } from './cache/sharedCache.js';
import { PolyvPageCache } from './cache/pageCache.js';
import { ConfigError, type GatewayConfig } from './config/index.js';
import { cstDayOf, cstDayStartMillis } from './domain/convert.js';
import type { Logger } from './logger.js';
import { PolyvGuard } from './polyv/guard.js';
import { PolyvHttpClient } from './polyv/http.js';
import { PolyvPages } from './polyv/pages.js';
import { RedisTokenBuckets } from './ratelimit/redisTokenBuckets.js';
import {
  MemoryTokenBuckets,
  type BucketOptions,
  type TokenBuckets,
} from './ratelimit/tokenBucket.js';
import { GatewayMetrics, polyvAttemptObserver } from './observability/metrics.js';
import { startTracing } from './observability/tracing.js';
import { startLive } from './live/index.js';
import { startGatewayServer, type GatewayServer } from './server/app.js';
import { createErrorFormatter } from './server/errorFormatter.js';
import { DASHBOARD_PATH } from './server/dashboard.js';
import type { DemoChannelSummary } from './server/landing.js';
import { metricsHandler } from './server/metricsEndpoint.js';
import { finalErrorHandler, notFound } from './server/httpErrors.js';
import http from 'node:http';
import express from 'express';

/**
 * What the gateway uses of the built-in Polyv emulator. The emulator is a test double kept apart
 * (emulator/, beside src/): the product loads it only by the one dynamic import below, when it
 * runs without Polyv credentials.
 */
export interface BuiltInEmulator {
  readonly url: string;
  /** Its control API (demo red packs, faults, live activity), named on the landing page. */
  readonly controlUrl: string;
  readonly credentials: { appId: string; appSecret: string; userId: string };
  readonly store: {
    readonly channels: readonly DemoChannelSummary[];
    /** The CST days its data covers (yyyy-MM-dd). */
    readonly period: { readonly firstDay: string; readonly lastDay: string };
  };
  readonly liveSchedules: readonly { readonly channelId: string }[];
  startLive(channelId: string, everyMs?: number): unknown;
  close(): Promise<void>;
}

export interface RunningGateway extends GatewayServer {
  /** The in-process emulator, when the gateway runs without Polyv credentials. */
  emulator: BuiltInEmulator | undefined;
  /** Upstream protection state (breaker, queue), for health and tests. */
  guard: PolyvGuard;
  /** The page cache, when caching is on. */
  pageCache: PolyvPageCache | undefined;
  /** The Redis connection, when configured. */
  redis: SharedRedis | undefined;
  metrics: GatewayMetrics;
  /**
   * Where /metrics is served: on METRICS_PORT when set, else on the main port (in production
   * only with METRICS_TOKEN); undefined when nowhere.
   */
  metricsUrl: string | undefined;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  let emulator: BuiltInEmulator | undefined;
  /** The Polyv account served, and where its API is. */
  let account: { baseUrl: string; appId: string; appSecret: string; userId: string };
  if (config.polyv.mode === 'emulator') {
    emulator = await startDemo(config.emulator);
    account = { baseUrl: emulator.url, ...emulator.credentials };
    const banner = 'NO POLYV CREDENTIALS: serving DEMO DATA from the built-in Polyv emulator';
    const { firstDay, lastDay } = emulator.store.period;
    logger.warn(
      {
        emulatorUrl: emulator.url,
        emulatorControl: emulator.controlUrl,
        demoData: `${firstDay} to ${lastDay}`,
        live: emulator.liveSchedules.map((schedule) => schedule.channelId),
      },
      `*** ${banner} ***`,
    );
    logger.warn(
      '*** Set POLYV_APP_ID, POLYV_APP_SECRET and POLYV_USER_ID to serve your real Polyv account. ***',
    );
  } else {
    account = { baseUrl: config.polyv.baseUrl, ...config.polyv.credentials };
    logger.info(
      { polyvBaseUrl: account.baseUrl, appId: account.appId },
      'serving the Polyv account',
    );
  }
  if (config.auth.mode === 'off') {
    const level = config.polyv.mode === 'polyv' ? 'warn' : 'info';
    logger[level](
      'API keys are OFF: anyone who can reach this gateway can read the data it serves',
    );
  } else {
    logger.info({ keys: config.auth.keys.map((key) => key.name) }, 'API keys required');
  }

  // Shared state: in Redis when configured (every replica sees the same), else in process.
  const redis = config.redis
    ? await SharedRedis.connect(config.redis, logger.child({ component: 'redis' }))
    : undefined;
  const buckets = (namespace: string, options: BucketOptions): TokenBuckets =>
    redis
      ? new RedisTokenBuckets(redis, namespace, options, config.replicas)
      : new MemoryTokenBuckets(options);
  // GATEWAY_CACHE_MAX_MB is one budget for everything cached in process, shared out here: a
  // heap bound can count it once (it was each cache's, so three caches could hold three times).
  const cacheShare = (eighths: number) => Math.floor((config.cache.maxBytes * eighths) / 8);
  const cache = (namespace: string, eighths: number) =>
    new SharedCache(cacheShare(eighths), redis, namespace);
  logger.info({ redis: redis ? 'shared' : 'off', cache: config.cache.enabled }, 'state');

  /** Set on stop: readiness fails first, so load balancers drain us before we stop accepting. */
  let draining = false;
  const tracing = config.tracing.enabled ? await startTracing() : undefined;
  if (tracing) logger.info('tracing: exporting spans as the OTEL_* variables say');

  const limits = config.polyvCalls;
  const guard = new PolyvGuard({
    maxConcurrency: limits.maxConcurrency,
    maxQueue: limits.maxQueue,
    queueTimeoutMs: limits.queueTimeoutMs,
    qpsBackoffMs: limits.qpsBackoffMs,
    breaker: limits.breaker,
    buckets: buckets('bucket:upstream:', {
      ratePerSecond: limits.ratePerSecond,
      burst: limits.rateBurst,
    }),
  });
  guard.onBreakerChange((state) =>
    (state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger))(
      { breaker: state },
      `upstream circuit ${state}`,
    ),
  );
  const metrics = new GatewayMetrics({
    circuitState: () => guard.state,
    queueDepth: () => guard.queueDepth,
    inFlight: () => guard.inFlight,
    redisUp: () => redis?.available,
    redisFallbacks: () => redis?.fallbacks ?? 0,
  });
  const client = new PolyvHttpClient({
    observe: polyvAttemptObserver(metrics, logger.child({ component: 'polyv' })),
    baseUrl: account.baseUrl,
    appId: account.appId,
    appSecret: account.appSecret,
    timeoutMs: limits.timeoutMs,
    retries: limits.retries,
    guard,
    maxSockets: limits.maxConcurrency,
  });
  const pageCache = config.cache.enabled ? new PolyvPageCache(cache('page:', 4), redis) : undefined;

  // The one error formatter: queries, subscriptions and exports over HTTP, and live polls.
  const formatError = createErrorFormatter(logger, { stackTraces: config.http.stackTraces });
  const pages = new PolyvPages(
    client,
    pageCache && { cache: pageCache, ttlMs: config.cache.ttlMs },
    metrics,
  );
  // Live updates poll through the same pages as queries: same client, limits, cache, metrics.
  const { hub } = startLive({
    pages,
    redis,
    live: config.live,
    limits: config.limits,
    metrics,
    logger,
    formatError,
    buckets,
  });
  /** Releases everything started so far: on stop, or when start-up fails half way. */
  const release = async () => {
    await hub.close();
    await tracing?.shutdown();
    client.close();
    guard.shutdown();
    await redis?.close();
    await emulator?.close();
  };
  // E.g. the port is taken: nothing may keep the process (or the emulator's port) alive.
  const failedToStart = async (error: unknown): Promise<never> => {
    await release();
    throw error;
  };

  const server = await startGatewayServer({
    config,
    pages,
    formatError,
    live: hub,
    metrics,
    metricsOnMainPort: config.metrics.onMainPort,
    metricsToken: config.metrics.token,
    notReadyBecause: async () => {
      const reasons: string[] = [];
      if (draining) reasons.push('shutting down');
      if (guard.state === 'open') reasons.push('the upstream circuit is open: Polyv keeps failing');
      if (redis && !redis.available) reasons.push('Redis is configured but unreachable');
      return reasons;
    },
    accountId: account.userId,
    logger,
    clientBuckets: buckets('bucket:client:', {
      ratePerSecond: config.limits.ratePerSecond,
      burst: config.limits.rateBurst,
    }),
    // The response cache's eighths: two for the stored answers, one for the hot ones kept
    // encoded (server/responseCache.ts).
    responseCache: config.cache.enabled
      ? { store: cache('response:', 2), encodedMaxBytes: cacheShare(1) }
      : undefined,
    persistedQueries: cache('apq:', 1),
    playground: config.playground
      ? { exampleVariables: exampleVariables(emulator), apiKeys: config.auth.mode === 'keys' }
      : undefined,
    demo: emulator && {
      channels: emulator.store.channels,
      firstDay: emulator.store.period.firstDay,
      lastDay: emulator.store.period.lastDay,
      controlUrl: emulator.controlUrl,
    },
  }).catch(failedToStart);
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics, {
          host: config.metrics.host,
          port: config.metricsPort,
          token: config.metrics.token,
          logger,
        }).catch(async (error: unknown) => {
          await server.stop();
          return failedToStart(error);
        });
  const metricsUrl =
    metricsServer?.url ?? (config.metrics.onMainPort ? `${server.url}/metrics` : undefined);
  if (!metricsUrl)
    logger.info('metrics: not served (production: set METRICS_PORT or METRICS_TOKEN)');
  // Everything a person or an operator may want to open, in the one line that says we are up.
  logger.info(
    {
      url: `${server.url}/graphql`,
      landing: `${server.url}/`,
      playground: config.playground ? `${server.url}/graphql` : undefined,
      dashboard: config.playground ? `${server.url}${DASHBOARD_PATH}` : undefined,
      health: `${server.url}/healthz`,
      ready: `${server.url}/readyz`,
      metrics: metricsUrl,
      emulatorControl: emulator?.controlUrl,
    },
    'gateway listening',
  );

  return {
    ...server,
    emulator,
    guard,
    pageCache,
    redis,
    metrics,
    metricsUrl,
    async stop() {
      // Not ready from now on, so load balancers stop sending before the server stops accepting.
      draining = true;
      await server.stop();
      metricsServer?.server.close();
      await release();
    },
  };
}

/**
 * The built-in emulator as `npm start` serves it: its data ending on EMULATOR_LAST_DAY
 * (yesterday by default), and live activity on EMULATOR_LIVE's channel. A channel or an interval
 * the emulator refuses is reported as the setting's problem.
 */
async function startDemo(demo: GatewayConfig['emulator']): Promise<BuiltInEmulator> {
  // Loaded only here: a gateway serving real Polyv never loads the emulator or its data.
  const { demoLastDay, startEmulator } = await import('../emulator/index.js');
  const emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    lastDay: demo?.lastDay ?? demoLastDay(Date.now()),
  });
  if (demo?.live) {
    const { channelId, everyMs } = demo.live;
    try {
      emulator.startLive(channelId, everyMs);
    } catch (error) {
      await emulator.close();
      const settings =
        everyMs === undefined ? 'EMULATOR_LIVE' : 'EMULATOR_LIVE, EMULATOR_LIVE_EVERY_MS';
      throw new ConfigError([
        `${settings}: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  }
  return emulator;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The playground's example: the emulator's busiest channel and the last 19 days of its data, or
 * a placeholder and the last week.
 */
function exampleVariables(emulator: BuiltInEmulator | undefined) {
  if (emulator) {
    const { lastDay } = emulator.store.period;
    const from = cstDayOf(cstDayStartMillis(lastDay) - 18 * DAY_MS);
    return { channel: '2812610', from, to: lastDay };
  }
  return {
    channel: 'YOUR_CHANNEL_NUMBER',
    from: cstDayOf(Date.now() - 6 * DAY_MS),
    to: cstDayOf(Date.now()),
  };
}

/** /metrics on a port of its own (on loopback unless METRICS_HOST says otherwise). */
async function serveMetrics(
  metrics: GatewayMetrics,
  options: { host: string; port: number; token: string | undefined; logger: Logger },
) {
  const { host, port } = options;
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsHandler(metrics, options.token));
  app.use(notFound);
  app.use(finalErrorHandler(options.logger));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const hostPart = reachable.includes(':') ? `[${reachable}]` : reachable;
  return { server, url: `http://${hostPart}:${bound}/metrics` };
}
