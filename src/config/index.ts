import express from 'express';
import { z } from 'zod';
import { readApiKeysFile, type ApiKey } from '../auth/apiKeys.js';

/**
 * Configuration, read from the environment once at start-up and validated as a whole.
 * Every problem is reported with the variable's name so an operator can fix it in one go.
 * Defaults are stated next to each variable; what each means for an operator is in
 * VARIABLE_DOCS below, from which `npm run docs:config` writes docs/configuration.md.
 */

/**
 * An integer variable, read as Number() reads it (blanks around it aside). Whatever is wrong
 * with it (not a number, a fraction, out of range), the message says what is expected and
 * what was given: `PORT: must be an integer from 0 to 65535; got "abc"`.
 */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const expected = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  return z
    .string()
    .transform((text, context) => {
      // Number('') and Number(' ') are 0: a blank is no number.
      const value = text.trim() === '' ? Number.NaN : Number(text);
      if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
      context.addIssue({
        code: 'custom',
        message: `must be an integer ${expected}; got ${JSON.stringify(text)}`,
      });
      return z.NEVER;
    })
    .meta({ accepts: `an integer ${expected}` });
};
const int = (fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  integer(min, max).default(fallback);
const onOff = z.enum(['on', 'off']).optional();

const envSchema = z.object({
  // Polyv
  POLYV_APP_ID: z.string().trim().min(1).optional(),
  POLYV_APP_SECRET: z.string().trim().min(1).optional(),
  /** The Polyv account whose income `incomeRecords` reports. */
  POLYV_USER_ID: z.string().trim().min(1).optional(),
  POLYV_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .meta({ accepts: 'an http(s) URL' })
    .default('https://api.polyv.net'),
  /**
   * Serve the built-in emulator's demo data instead of Polyv: the default without credentials,
   * except in production, where demo data must be asked for (`on`) so that a deployment missing
   * its credentials refuses to start instead of serving made-up numbers.
   */
  POLYV_EMULATOR: onOff,

  // Upstream protection: whatever clients do, Polyv sees a careful client.
  /** Per-attempt timeout of one upstream call. */
  POLYV_TIMEOUT_MS: int(10_000),
  /** Retries after the first attempt, for transient faults only. */
  POLYV_RETRIES: int(2, 0, 10),
  /** Upstream calls in flight at once, for the whole process. */
  POLYV_MAX_CONCURRENCY: int(20),
  /** Token bucket on calls to Polyv: refill per second, and burst. Polyv blocks past 1500 per 10 s. */
  POLYV_RATE_PER_SECOND: int(100),
  POLYV_RATE_BURST: int(50),
  /** Calls waiting for a slot or a token, at most; and how long one may wait. */
  POLYV_MAX_QUEUE: int(1_000),
  POLYV_QUEUE_TIMEOUT_MS: int(5_000),
  /** After Polyv says "qps exceeds", nobody calls it for this long. */
  POLYV_QPS_BACKOFF_MS: int(5_000),
  /** Circuit breaker: open when this % of at least VOLUME calls in 10 s fail; probe after RESET. */
  POLYV_BREAKER_ERROR_PERCENT: int(50, 1, 100),
  POLYV_BREAKER_VOLUME: int(10),
  POLYV_BREAKER_RESET_MS: int(10_000),

  // Caching and scale-out
  /** `off` disables the upstream page cache and the response cache (each request asks Polyv). */
  GATEWAY_CACHE: onOff,
  /** How long a Polyv page is reused, by endpoint (0: never). */
  POLYV_CACHE_TTL_RED_PACKS_S: int(30, 0),
  POLYV_CACHE_TTL_INCOME_S: int(60, 0),
  /** In-process cache size bound: one budget for pages, answers and persisted queries together. */
  GATEWAY_CACHE_MAX_MB: int(64),
  /** Shared cache, limits and persisted queries for every replica (redis:// or rediss://). */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })
    .meta({ accepts: 'a `redis://` or `rediss://` URL' })
    .optional(),
  /** Prefix of every Redis key, so deployments can share one Redis. */
  GATEWAY_REDIS_PREFIX: z.string().trim().min(1).default('polyv-graphql:'),
  /** A Redis command slower than this counts as Redis being down (we fall back, never wait). */
  REDIS_TIMEOUT_MS: int(250),
  /** Replicas sharing the limits; while Redis is down each keeps 1/N of them. */
  GATEWAY_REPLICAS: int(1),

  // Who may ask
  /** `off` disables API keys (a warning is logged); otherwise keys are required with real credentials. */
  GATEWAY_AUTH: onOff,
  /** JSON file of SHA-256-hashed API keys. */
  GATEWAY_API_KEYS_FILE: z.string().trim().min(1).optional(),
  /** Token bucket per API key (per client address with auth off): refill per second, burst. */
  GATEWAY_RATE_PER_SECOND: int(20),
  GATEWAY_RATE_BURST: int(100),

  // How much they may ask
  GATEWAY_MAX_DEPTH: int(12),
  GATEWAY_MAX_ALIASES: int(30),
  GATEWAY_MAX_ROOT_FIELDS: int(20),
  /** Largest GraphQL document, in bytes. */
  GATEWAY_MAX_DOCUMENT_BYTES: int(20_000),
  /** Same-named field pairs validation may compare (server/prepare.ts `overlapWork`). */
  GATEWAY_MAX_VALIDATION_WORK: int(100_000, 100),
  /** Largest estimated cost (objects and fields an answer may hold); see docs/security.md. */
  GATEWAY_MAX_COST: int(200_000),
  /**
   * Calls to Polyv one operation may make: estimated before it runs (a connection is one or
   * two, a summary one per page it may walk) and enforced as they are made.
   */
  GATEWAY_MAX_UPSTREAM_CALLS: int(200),
  /**
   * Records (red packs, income records) one operation may fetch and hold: estimated before it
   * runs (each connection's page size times every list above it) and enforced as pages are
   * asked for. Summaries are not counted: they let their pages go. The default is one
   * connection's worst case, so any single page of up to 1,000 can be asked for: a window of
   * 1,000 between two cursors takes three Polyv pages, plus the read of the list's length.
   */
  GATEWAY_MAX_UPSTREAM_RECORDS: int(3_001),
  /**
   * Records all running operations may hold together, by their estimates: operations that
   * would pass it wait their turn. This is what bounds the heap (docs/security.md, Limits):
   * about 20 kB a record held (11.7 kB for a red pack with 20 receives, measured by
   * bench/recordHeap.ts, plus its share of the answer being built).
   */
  GATEWAY_MAX_RECORDS_IN_FLIGHT: int(4_000),
  /**
   * The most records one summary may add up (1,000 a Polyv page): a summary counts as this
   * many pages against GATEWAY_MAX_UPSTREAM_CALLS, so the default lets a query hold four.
   */
  GATEWAY_SUMMARY_MAX_RECORDS: int(50_000),
  /**
   * The most records (red packs, income records) one export may walk (GET /export/…): refused
   * up front, from the list's first page, past it. Exports let each page go once it is sent.
   */
  GATEWAY_EXPORT_MAX_RECORDS: int(100_000),
  /** Exports streaming at once in one replica; past it, SERVER_BUSY (503). */
  GATEWAY_EXPORT_MAX_IN_FLIGHT: int(2),
  /** Exports one API key (one address with keys off) may stream at once in one replica; past it, 429. */
  GATEWAY_EXPORT_MAX_PER_CLIENT: int(1),
  /** Longest `ids` list of `channels` (and `representations` list of `_entities`). */
  GATEWAY_MAX_IDS: int(200),
  /** Largest answer, in bytes of JSON: past it the answer is an error, never a truncated one. */
  GATEWAY_MAX_RESPONSE_BYTES: int(8 * 1024 * 1024, 1_000),
  /** Operations executing at once, for the whole process (however few records they hold). */
  GATEWAY_MAX_CONCURRENT_OPERATIONS: int(32),
  /** Operations that may wait for an execution slot (until their deadline); past it, SERVER_BUSY. */
  GATEWAY_MAX_QUEUED_OPERATIONS: int(200, 0),
  /** Largest HTTP request body, in bytes. */
  GATEWAY_MAX_BODY_BYTES: int(100_000),
  /** Deadline of one GraphQL request, upstream waits included. */
  GATEWAY_REQUEST_TIMEOUT_MS: int(30_000),
  /** On SIGTERM, how long in-flight requests may take to finish. */
  GATEWAY_SHUTDOWN_GRACE_MS: int(10_000, 0),

  // HTTP
  PORT: int(4000, 0, 65_535),
  /** Serve /metrics on this port instead of the main one. */
  METRICS_PORT: integer(0, 65_535).optional(),
  /** Interface of METRICS_PORT: loopback unless the scraper needs another. */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Bearer token /metrics requires, wherever it is served. */
  METRICS_TOKEN: z
    .string()
    .trim()
    .min(16, 'must be at least 16 characters')
    .meta({ accepts: 'text of 16 characters or more' })
    .optional(),
  /**
   * Which proxies may say who the client is (X-Forwarded-For), as Express's `trust proxy`: `off`
   * (default: the peer address is the client), a hop count, or a comma-separated list of proxy
   * addresses, subnets or `loopback` / `linklocal` / `uniquelocal`.
   */
  GATEWAY_TRUST_PROXY: z.string().trim().optional(),
  /** Interface to listen on: loopback unless said otherwise (a container sets 0.0.0.0). */
  HOST: z.string().trim().min(1).default('127.0.0.1'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Comma-separated allowed browser origins, or `*`. Default: none, in every environment. */
  GATEWAY_CORS_ORIGINS: z.string().trim().optional(),
  /** The GraphiQL playground at GET /graphql: on in development and on the emulator, off in production. */
  GATEWAY_PLAYGROUND: onOff,
  /** Schema introspection: on except in production. */
  GATEWAY_INTROSPECTION: onOff,
  /** Stack traces of internal errors in responses: off except in development. */
  GATEWAY_STACK_TRACES: onOff,
  /** Run repeated operations as code compiled by graphql-jit (canonical documents only); `off`: graphql-js. */
  GATEWAY_COMPILED_EXECUTION: onOff,

  // Live updates (subscriptions)
  /** Time between two polls of a subscribed channel (for every subscriber on every replica). */
  GATEWAY_LIVE_POLL_MS: int(3_000, 500),
  /** With Redis: how long a poller's lease lasts unrenewed; a dead poller's channels move within it. */
  GATEWAY_LIVE_LEASE_MS: int(10_000, 1_000),
  /**
   * Channels (with their session filters) one replica may follow at once. Default: 50, or fewer
   * so that polls take at most GATEWAY_LIVE_RATE_PER_SECOND with every replica at its maximum.
   */
  GATEWAY_LIVE_MAX_CHANNELS: integer(1).optional(),
  /**
   * Channels (with their session filters) one API key (one address with keys off) may make one
   * replica follow. Default: a quarter of GATEWAY_LIVE_MAX_CHANNELS (at least 1).
   */
  GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: integer(1).optional(),
  /**
   * Polyv calls a second live polling may make (polls and totals walks), shared by the replicas
   * as POLYV_RATE_PER_SECOND is. Default: half of POLYV_RATE_PER_SECOND.
   */
  GATEWAY_LIVE_RATE_PER_SECOND: integer(1).optional(),
  /** Polyv calls a minute one API key may spend starting to follow channels (their first polls). */
  GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: int(60),
  /** ...and the most it may spend at once: its bucket's size. */
  GATEWAY_LIVE_CLIENT_CALLS_BURST: int(20),
  /** Subscriptions open in one replica, in all (each holds about 12 kB of heap: see the bench). */
  GATEWAY_LIVE_MAX_SUBSCRIPTIONS: int(5_000),
  /** Subscriptions one API key (one address with keys off) may hold open in one replica. */
  GATEWAY_LIVE_MAX_PER_CLIENT: int(1_000),
  /** Subscriptions one WebSocket connection may carry. */
  GATEWAY_LIVE_MAX_PER_CONNECTION: int(20),
  /** Messages a subscriber may leave unread; past it, it is dropped (a slow consumer). */
  GATEWAY_LIVE_MAX_QUEUED: int(100),
  /** Estimated MB of distinct documents a replica's subscriptions may keep (a quarter per client). */
  GATEWAY_LIVE_DOCUMENTS_MB: int(16),
  /** Keep-alive of live connections: a WebSocket ping (dropped without a pong by the next), an SSE comment. */
  GATEWAY_LIVE_KEEPALIVE_MS: int(12_000, 1_000),
  /** A WebSocket connection that carries no subscription for this long is closed. */
  GATEWAY_LIVE_IDLE_MS: int(60_000, 1_000),
});

/** An environment variable the schema above reads. */
export type EnvVariable = keyof typeof envSchema.shape;

/** The headings of docs/configuration.md, in the order of the schema above. */
export type ConfigSection =
  | 'Polyv'
  | 'Upstream protection'
  | 'Caching and scale-out'
  | 'Who may ask'
  | 'How much they may ask'
  | 'HTTP and the process'
  | 'Live updates';

/** What an operator reads about one variable (Markdown; links are relative to docs/). */
export interface VariableDoc {
  section: ConfigSection;
  /** What it does. */
  meaning: string;
  /** The default in words, where the schema's own default is not the whole story (or it has none). */
  default?: string;
}

/**
 * Every variable of the schema, explained: keyed by the schema's own keys, so a variable added
 * without a line here does not type-check. docs/configuration.md is written from this
 * (`npm run docs:config`), and a test fails when the page and this table disagree.
 */
export const VARIABLE_DOCS: Record<EnvVariable, VariableDoc> = {
  POLYV_APP_ID: {
    section: 'Polyv',
    meaning: 'Polyv app id. Set it together with `POLYV_APP_SECRET`, or neither (emulator).',
  },
  POLYV_APP_SECRET: {
    section: 'Polyv',
    meaning: 'Polyv app secret. Never logged, never sent anywhere but into signatures.',
  },
  POLYV_USER_ID: {
    section: 'Polyv',
    meaning:
      'The Polyv account id whose income `incomeRecords` reports. Required with credentials.',
  },
  POLYV_BASE_URL: { section: 'Polyv', meaning: 'Where Polyv is.' },
  POLYV_EMULATOR: {
    section: 'Polyv',
    default: 'on without credentials, except in production',
    meaning:
      "`on` serves the built-in emulator's demo data. In production (`NODE_ENV=production`) without credentials the gateway refuses to start unless this is `on`.",
  },

  POLYV_TIMEOUT_MS: { section: 'Upstream protection', meaning: 'Timeout of one upstream attempt.' },
  POLYV_RETRIES: {
    section: 'Upstream protection',
    meaning:
      'Retries after the first attempt, for transient faults only (network, timeouts, 5xx, "qps exceeds").',
  },
  POLYV_MAX_CONCURRENCY: {
    section: 'Upstream protection',
    meaning: 'Upstream calls in flight at once, for the whole process.',
  },
  POLYV_RATE_PER_SECOND: {
    section: 'Upstream protection',
    meaning:
      'Token bucket on calls to Polyv, refill per second: at most burst + rate × t calls in any t seconds (1,050 per 10 s at the defaults; Polyv blocks past 1,500).',
  },
  POLYV_RATE_BURST: {
    section: 'Upstream protection',
    meaning: 'Token bucket on calls to Polyv: its size, the burst.',
  },
  POLYV_MAX_QUEUE: {
    section: 'Upstream protection',
    meaning:
      'Upstream calls that may wait for a turn (one queue per client, served in turn); past that, `QUEUE_FULL` for the longest queue.',
  },
  POLYV_QUEUE_TIMEOUT_MS: {
    section: 'Upstream protection',
    meaning: 'Longest wait for a turn; past that, `QUEUE_TIMEOUT`.',
  },
  POLYV_QPS_BACKOFF_MS: {
    section: 'Upstream protection',
    meaning: 'After Polyv answers "qps exceeds", no call to Polyv for this long, from any request.',
  },
  POLYV_BREAKER_ERROR_PERCENT: {
    section: 'Upstream protection',
    meaning:
      "Circuit breaker: opens when this share of at least `POLYV_BREAKER_VOLUME` calls in 10 s failed on Polyv's side.",
  },
  POLYV_BREAKER_VOLUME: {
    section: 'Upstream protection',
    meaning: 'Circuit breaker: the fewest calls in 10 s it judges.',
  },
  POLYV_BREAKER_RESET_MS: {
    section: 'Upstream protection',
    meaning: 'Circuit breaker: how long it stays open before it lets a probe through.',
  },

  GATEWAY_CACHE: {
    section: 'Caching and scale-out',
    default: '`on`',
    meaning:
      '`off` disables the upstream page cache and the response cache: every request asks Polyv (answers say `Cache-Control: no-store`).',
  },
  POLYV_CACHE_TTL_RED_PACKS_S: {
    section: 'Caching and scale-out',
    meaning: 'Seconds a page of red packs is reused (`0`: never).',
  },
  POLYV_CACHE_TTL_INCOME_S: {
    section: 'Caching and scale-out',
    meaning: 'Seconds a page of income records is reused (`0`: never).',
  },
  GATEWAY_CACHE_MAX_MB: {
    section: 'Caching and scale-out',
    meaning:
      'One budget for everything cached in process: half for Polyv pages, three eighths for whole answers, an eighth for persisted queries.',
  },
  REDIS_URL: {
    section: 'Caching and scale-out',
    default: 'none: everything in process',
    meaning:
      'Redis that replicas share: page and response caches, persisted queries, the upstream and per-key token buckets, single-flight locks (see [Operations → With Redis](operations.md#with-redis-redis_url)).',
  },
  GATEWAY_REDIS_PREFIX: {
    section: 'Caching and scale-out',
    meaning: 'Prefix of every Redis key, so deployments can share one Redis.',
  },
  REDIS_TIMEOUT_MS: {
    section: 'Caching and scale-out',
    meaning:
      'A Redis command slower than this counts as Redis being down: the gateway falls back to in-process state, never waits.',
  },
  GATEWAY_REPLICAS: {
    section: 'Caching and scale-out',
    meaning:
      'Replicas sharing the limits: while Redis is down each keeps 1/N of every token bucket, so an outage never multiplies the rate Polyv sees.',
  },

  GATEWAY_AUTH: {
    section: 'Who may ask',
    default: 'on with credentials, off on the emulator',
    meaning:
      '`off` lets anyone who can reach the gateway read the data (logged as a warning). On the emulator a keys file turns it on.',
  },
  GATEWAY_API_KEYS_FILE: {
    section: 'Who may ask',
    meaning:
      'JSON file of hashed API keys (see [Security → API keys](security.md#api-keys)). Required with credentials unless `GATEWAY_AUTH=off`.',
  },
  GATEWAY_RATE_PER_SECOND: {
    section: 'Who may ask',
    meaning: 'Token bucket per API key (per client address with auth off), refill per second.',
  },
  GATEWAY_RATE_BURST: {
    section: 'Who may ask',
    meaning: 'Token bucket per API key (per client address with auth off): its size, the burst.',
  },

  GATEWAY_MAX_DEPTH: { section: 'How much they may ask', meaning: 'Deepest field nesting.' },
  GATEWAY_MAX_ALIASES: { section: 'How much they may ask', meaning: 'Aliases per operation.' },
  GATEWAY_MAX_ROOT_FIELDS: {
    section: 'How much they may ask',
    meaning: 'Root fields per operation.',
  },
  GATEWAY_MAX_DOCUMENT_BYTES: {
    section: 'How much they may ask',
    meaning: 'Largest GraphQL document, in bytes.',
  },
  GATEWAY_MAX_VALIDATION_WORK: {
    section: 'How much they may ask',
    meaning:
      'The most pairs of same-named fields (and their sub-selections) validating one document may compare, estimated before validating: documents that repeat a field hundreds of times are refused before they cost CPU.',
  },
  GATEWAY_MAX_COST: {
    section: 'How much they may ask',
    meaning: 'Largest estimated cost (see [Security → Limits](security.md#limits)).',
  },
  GATEWAY_MAX_UPSTREAM_CALLS: {
    section: 'How much they may ask',
    meaning:
      'Polyv calls one operation may make: estimated before it runs (a connection is one or two, counting every list item above it; a summary one per page it may walk) and enforced as the calls are made.',
  },
  GATEWAY_MAX_UPSTREAM_RECORDS: {
    section: 'How much they may ask',
    meaning:
      "Records (red packs, income records) one operation may fetch and hold: estimated before it runs, enforced as pages are asked for. The default is one connection's worst case (a window of 1,000 between two cursors is three Polyv pages, plus the read of the list's length).",
  },
  GATEWAY_MAX_RECORDS_IN_FLIGHT: {
    section: 'How much they may ask',
    meaning:
      'Records all running operations may hold together, by their estimates (or cost ÷ 100): what bounds the heap (see [Security → Limits](security.md#limits)).',
  },
  GATEWAY_SUMMARY_MAX_RECORDS: {
    section: 'How much they may ask',
    meaning:
      'The most records one summary may add up; a summary counts as this ÷ 1,000 pages (50) against `GATEWAY_MAX_UPSTREAM_CALLS`.',
  },
  GATEWAY_EXPORT_MAX_RECORDS: {
    section: 'How much they may ask',
    meaning:
      'The most records (red packs, income records) one export may walk (see [Exports](exports.md)): past it the export is refused before any row, from the list\'s first page (`QUERY_LIMIT_EXCEEDED`, `limit: "exportRecords"`). An export holds the pages in flight, not the rows it sent.',
  },
  GATEWAY_EXPORT_MAX_IN_FLIGHT: {
    section: 'How much they may ask',
    meaning:
      'Exports streaming at once in one replica (each holds up to four Polyv pages, asked for and not yet written: see [Security → Limits](security.md#limits)); past it, `SERVER_BUSY` (HTTP 503).',
  },
  GATEWAY_EXPORT_MAX_PER_CLIENT: {
    section: 'How much they may ask',
    meaning:
      'Exports one API key (one client address with keys off) may stream at once in one replica; past it, `RATE_LIMITED` (HTTP 429).',
  },
  GATEWAY_MAX_IDS: {
    section: 'How much they may ask',
    meaning: 'Longest `channels(ids)` and `_entities(representations)` list.',
  },
  GATEWAY_MAX_RESPONSE_BYTES: {
    section: 'How much they may ask',
    default: '`8388608` (8 MB)',
    meaning:
      'Largest answer, in bytes of JSON; a larger one is replaced by a `QUERY_LIMIT_EXCEEDED` error, never truncated.',
  },
  GATEWAY_MAX_CONCURRENT_OPERATIONS: {
    section: 'How much they may ask',
    meaning:
      'Operations executing at once in the process, however few records they hold (see [Security → Limits](security.md#limits)).',
  },
  GATEWAY_MAX_QUEUED_OPERATIONS: {
    section: 'How much they may ask',
    meaning:
      'Operations that may wait for an execution slot, each until its deadline; past it, `SERVER_BUSY` (HTTP 503).',
  },
  GATEWAY_MAX_BODY_BYTES: {
    section: 'How much they may ask',
    meaning: 'Largest HTTP request body, in bytes.',
  },
  GATEWAY_REQUEST_TIMEOUT_MS: {
    section: 'How much they may ask',
    meaning: 'Deadline of one GraphQL request, upstream waits included.',
  },
  GATEWAY_SHUTDOWN_GRACE_MS: {
    section: 'How much they may ask',
    meaning: 'On SIGTERM, how long requests in flight may take to finish.',
  },

  PORT: { section: 'HTTP and the process', meaning: 'HTTP port (`0` picks a free one).' },
  METRICS_PORT: {
    section: 'HTTP and the process',
    default: 'none: `/metrics` on `PORT`, except in production',
    meaning:
      'Serve `/metrics` on this port, not on `PORT` (see [Operations → Metrics](operations.md#metrics)).',
  },
  METRICS_HOST: {
    section: 'HTTP and the process',
    meaning: 'Interface of `METRICS_PORT` (e.g. `0.0.0.0` for a scraper on a private network).',
  },
  METRICS_TOKEN: {
    section: 'HTTP and the process',
    meaning:
      '`/metrics` then needs `Authorization: Bearer <token>`. In production `/metrics` is on `PORT` only with it.',
  },
  GATEWAY_TRUST_PROXY: {
    section: 'HTTP and the process',
    default: '`off`',
    meaning:
      'Who may set the client address (`X-Forwarded-For`): `off`, a hop count, or proxy addresses/subnets (see [Security → Client addresses behind proxies](security.md#client-addresses-behind-proxies)).',
  },
  HOST: {
    section: 'HTTP and the process',
    meaning:
      'Interface to listen on: loopback by default, so a development gateway is not reachable from the network. A container sets `0.0.0.0` (the image does).',
  },
  NODE_ENV: {
    section: 'HTTP and the process',
    meaning:
      '`production` selects the production defaults (see [Security → In production](security.md#in-production)).',
  },
  GATEWAY_CORS_ORIGINS: {
    section: 'HTTP and the process',
    default: 'none, in every environment',
    meaning:
      "Comma-separated browser origins allowed to call the gateway from their pages (CORS) and to open its WebSockets, or `*`. Unset, no other site's page may.",
  },
  GATEWAY_PLAYGROUND: {
    section: 'HTTP and the process',
    default: 'follows `GATEWAY_INTROSPECTION`',
    meaning:
      'The GraphiQL playground at `GET /graphql` and the example dashboard. The playground loads the schema by introspection, so `on` with introspection off is refused at start-up.',
  },
  GATEWAY_INTROSPECTION: {
    section: 'HTTP and the process',
    default: 'on, except in production with real credentials',
    meaning: 'Schema introspection (`__schema`, `__type`).',
  },
  GATEWAY_STACK_TRACES: {
    section: 'HTTP and the process',
    default: 'on in development only',
    meaning:
      'Stack traces of internal errors (`INTERNAL_SERVER_ERROR`) in responses; client errors never carry one.',
  },
  GATEWAY_COMPILED_EXECUTION: {
    section: 'HTTP and the process',
    default: '`on`',
    meaning:
      '`off` runs every operation on graphql-js. On, an operation seen again runs as code graphql-jit compiled from a copy with every literal a variable (see [Security → Code generation](security.md#code-generation-and-evaluation)).',
  },

  GATEWAY_LIVE_POLL_MS: {
    section: 'Live updates',
    meaning:
      'Time between two polls of a subscribed channel, for every subscriber on every replica.',
  },
  GATEWAY_LIVE_LEASE_MS: {
    section: 'Live updates',
    meaning:
      "With Redis: how long a poller's lease on a channel lasts unrenewed; a dead replica's channels move to another within it. At least three polls.",
  },
  GATEWAY_LIVE_MAX_CHANNELS: {
    section: 'Live updates',
    default:
      '50, or fewer so that polls take at most `GATEWAY_LIVE_RATE_PER_SECOND` (half of `POLYV_RATE_PER_SECOND`) with every replica at its maximum',
    meaning: 'Channels (with their session filters) one replica may follow at once.',
  },
  GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: {
    section: 'Live updates',
    default: 'a quarter of `GATEWAY_LIVE_MAX_CHANNELS` (12 of 50), at least 1',
    meaning:
      'Channels (with their session filters) one API key (one client address with keys off) may make one replica follow: past it, it may subscribe only to channels the replica already follows (`liveChannelsPerClient`). So one key cannot take every channel of a replica, and another can still follow its own. At most `GATEWAY_LIVE_MAX_CHANNELS`.',
  },
  GATEWAY_LIVE_RATE_PER_SECOND: {
    section: 'Live updates',
    default: 'half of `POLYV_RATE_PER_SECOND`',
    meaning:
      'The ceiling of live polling: Polyv calls a second that polls and totals walks may make, with a burst of one second of it (so at most 11 seconds of it in any 10 s), shared by the replicas through Redis as `POLYV_RATE_PER_SECOND` is. Calls past it wait. At most `POLYV_RATE_PER_SECOND`, and enough for the polls of every channel every replica may follow.',
  },
  GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: {
    section: 'Live updates',
    meaning:
      "What one API key (one client address with keys off) may spend on Polyv starting to follow channels, refill a minute: the first poll of a channel (or `sessionId` filter) a replica did not follow, and its totals walk page by page, are paid from the key's bucket (shared through Redis). A subscription that would start one with the bucket empty is refused (`RATE_LIMITED`, `limit: liveUpstreamCalls`, with `retryAfterSeconds`).",
  },
  GATEWAY_LIVE_CLIENT_CALLS_BURST: {
    section: 'Live updates',
    meaning:
      "The size of that bucket: what a key may spend at once. A walk longer than what is left waits for the bucket to refill (the channel's totals come later).",
  },
  GATEWAY_LIVE_MAX_SUBSCRIPTIONS: {
    section: 'Live updates',
    meaning:
      'Subscriptions open in one replica, in all. Each holds about 12 kB of heap (bench, scenario 6): the default bounds them to about 60 MB.',
  },
  GATEWAY_LIVE_MAX_PER_CLIENT: {
    section: 'Live updates',
    meaning:
      'Subscriptions one API key (one client address with keys off) may hold open in one replica.',
  },
  GATEWAY_LIVE_MAX_PER_CONNECTION: {
    section: 'Live updates',
    meaning: 'Subscriptions one WebSocket connection may carry.',
  },
  GATEWAY_LIVE_MAX_QUEUED: {
    section: 'Live updates',
    meaning: 'Messages a subscriber may leave unread; past it, it is dropped (a slow consumer).',
  },
  GATEWAY_LIVE_DOCUMENTS_MB: {
    section: 'Live updates',
    meaning:
      'Distinct documents (estimated as parsed, in MB) the subscriptions of one replica may keep, one client at most a quarter of it: subscriptions sharing a document count it once. Past it a subscription is refused (`subscriptionDocuments`, `subscriptionDocumentsPerClient`).',
  },
  GATEWAY_LIVE_KEEPALIVE_MS: {
    section: 'Live updates',
    meaning:
      "WebSocket keep-alive: a ping this often; a connection that has not answered the last one by the next is dropped. (Event streams get a comment every 12 s, graphql-sse's own.)",
  },
  GATEWAY_LIVE_IDLE_MS: {
    section: 'Live updates',
    meaning: 'A WebSocket connection that carries no subscription for this long is closed.',
  },
};

/** One variable as docs/configuration.md shows it: its doc, its default and what it accepts. */
export interface VariableDescription extends VariableDoc {
  name: EnvVariable;
  /** The default in words, or `—`. */
  default: string;
  /** What the schema accepts, in words. */
  accepts: string;
}

/** Every variable of the schema, in its order, with what the schema itself says of it. */
export function describeVariables(): VariableDescription[] {
  return (Object.keys(envSchema.shape) as EnvVariable[]).map((name) => {
    const doc = VARIABLE_DOCS[name];
    const schema: z.ZodType = envSchema.shape[name];
    let inner = schema;
    let fallback: unknown;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) {
      if (inner instanceof z.ZodDefault) fallback = inner.def.defaultValue;
      inner = inner.unwrap() as z.ZodType;
    }
    return {
      ...doc,
      name,
      default: doc.default ?? (fallback === undefined ? '—' : `\`${String(fallback)}\``),
      accepts: acceptedValues(inner),
    };
  });
}

/** What a variable's schema accepts, in words: its `accepts` metadata, an enum's values, or text. */
function acceptedValues(schema: z.ZodType): string {
  const accepts = schema.meta()?.accepts;
  if (typeof accepts === 'string') return accepts;
  if (schema instanceof z.ZodEnum) return schema.options.map((value) => `\`${value}\``).join(', ');
  return 'text';
}

export interface PolyvCredentials {
  appId: string;
  appSecret: string;
  userId: string;
}

export interface GatewayConfig {
  /** Where the upstream is: the real Polyv, or the built-in emulator when no credentials are set. */
  polyv: { mode: 'polyv'; baseUrl: string; credentials: PolyvCredentials } | { mode: 'emulator' };
  /** How the gateway calls Polyv (POLYV_*): timeouts, retries, rate, queue and breaker. */
  polyvCalls: {
    timeoutMs: number;
    retries: number;
    maxConcurrency: number;
    ratePerSecond: number;
    rateBurst: number;
    maxQueue: number;
    queueTimeoutMs: number;
    qpsBackoffMs: number;
    breaker: { errorPercent: number; volume: number; resetMs: number };
  };
  /** `keys`: every GraphQL request needs one of these keys. `off`: anyone may ask. */
  auth: { mode: 'keys'; keys: ApiKey[] } | { mode: 'off' };
  limits: {
    maxDepth: number;
    maxAliases: number;
    maxRootFields: number;
    maxDocumentBytes: number;
    maxValidationWork: number;
    maxCost: number;
    maxUpstreamCalls: number;
    maxUpstreamRecords: number;
    summaryMaxRecords: number;
    maxIds: number;
    maxResponseBytes: number;
    maxConcurrentOperations: number;
    maxRecordsInFlight: number;
    maxQueuedOperations: number;
    maxBodyBytes: number;
    requestTimeoutMs: number;
    /** Per principal: refill per second and burst. */
    ratePerSecond: number;
    rateBurst: number;
  };
  cache: {
    enabled: boolean;
    /** Upstream page TTL by endpoint name. */
    ttlMs: { redPackStatistics: number; incomeDetail: number };
    maxBytes: number;
  };
  /** Shared state for replicas; absent: everything in process. */
  redis: { url: string; prefix: string; commandTimeoutMs: number } | undefined;
  replicas: number;
  server: { port: number; host: string; shutdownGraceMs: number };
  /** /metrics on its own port; absent: on the main port. */
  metricsPort: number | undefined;
  metrics: {
    /** Interface of metricsPort. */
    host: string;
    /** Bearer token required to read /metrics; absent: none. */
    token: string | undefined;
    /**
     * Serve /metrics on the main port: when it has no port of its own, except in production
     * without a token (other clients' operation names and error rates are not public).
     */
    onMainPort: boolean;
  };
  http: {
    corsOrigins: '*' | string[];
    introspection: boolean;
    stackTraces: boolean;
    /** Leave "Did you mean …" suggestions out of validation errors. */
    hideSchemaDetails: boolean;
    /** Express's `trust proxy`: false (peer address), a hop count, or proxy addresses. */
    trustProxy: false | number | string[];
  };
  /** How operations run: compiled by graphql-jit from their second request (server/executor.ts), or not. */
  execution: { compiled: boolean };
  /** Exports (GET /export/…): the records one may walk, and how many may stream at once. */
  exports: { maxRecords: number; maxInFlight: number; maxPerClient: number };
  /** Subscriptions: how often channels are polled, and what a subscriber may hold. */
  live: {
    pollMs: number;
    leaseMs: number;
    maxChannels: number;
    /** Channels one client may make a replica follow (live/hub.ts). */
    maxChannelsPerClient: number;
    /** The ceiling of every live Polyv call (live/budget.ts). */
    ceiling: { ratePerSecond: number; burst: number };
    /** Each client's budget for the first polls of the channels it starts following. */
    clientBudget: { ratePerSecond: number; burst: number };
    maxSubscriptions: number;
    maxPerClient: number;
    maxPerConnection: number;
    maxQueued: number;
    /** Estimated bytes of distinct documents this replica's subscriptions may keep. */
    maxDocumentBytes: number;
    keepAliveMs: number;
    idleMs: number;
  };
  /** Serve the GraphiQL playground (GET /graphql and /). */
  playground: boolean;
  environment: 'development' | 'production' | 'test';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // An empty variable means "not set": that is how shells and .env files express it.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const vars = parsed.data;
  const problems: string[] = [];
  const production = vars.NODE_ENV === 'production';

  const polyv = readPolyv(vars, problems);
  const auth = readAuth(vars, polyv.mode, problems);
  const trustProxy = readTrustProxy(vars.GATEWAY_TRUST_PROXY, problems);
  const defaultOn = (setting: 'on' | 'off' | undefined, fallback: boolean) =>
    setting ? setting === 'on' : fallback;
  // The playground loads the schema by introspection: they are on or off together by default
  // (on the emulator too, demo data being there to explore), and one without the other is refused.
  const introspection = defaultOn(
    vars.GATEWAY_INTROSPECTION,
    !production || polyv.mode === 'emulator',
  );
  const playground = defaultOn(vars.GATEWAY_PLAYGROUND, introspection);
  if (playground && !introspection)
    problems.push(
      'GATEWAY_PLAYGROUND: on needs GATEWAY_INTROSPECTION=on (the playground loads the schema by introspection)',
    );
  checkLive(vars, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    polyv,
    polyvCalls: {
      timeoutMs: vars.POLYV_TIMEOUT_MS,
      retries: vars.POLYV_RETRIES,
      maxConcurrency: vars.POLYV_MAX_CONCURRENCY,
      ratePerSecond: vars.POLYV_RATE_PER_SECOND,
      rateBurst: vars.POLYV_RATE_BURST,
      maxQueue: vars.POLYV_MAX_QUEUE,
      queueTimeoutMs: vars.POLYV_QUEUE_TIMEOUT_MS,
      qpsBackoffMs: vars.POLYV_QPS_BACKOFF_MS,
      breaker: {
        errorPercent: vars.POLYV_BREAKER_ERROR_PERCENT,
        volume: vars.POLYV_BREAKER_VOLUME,
        resetMs: vars.POLYV_BREAKER_RESET_MS,
      },
    },
    auth,
    limits: {
      maxDepth: vars.GATEWAY_MAX_DEPTH,
      maxAliases: vars.GATEWAY_MAX_ALIASES,
      maxRootFields: vars.GATEWAY_MAX_ROOT_FIELDS,
      maxDocumentBytes: vars.GATEWAY_MAX_DOCUMENT_BYTES,
      maxValidationWork: vars.GATEWAY_MAX_VALIDATION_WORK,
      maxCost: vars.GATEWAY_MAX_COST,
      maxUpstreamCalls: vars.GATEWAY_MAX_UPSTREAM_CALLS,
      maxUpstreamRecords: vars.GATEWAY_MAX_UPSTREAM_RECORDS,
      summaryMaxRecords: vars.GATEWAY_SUMMARY_MAX_RECORDS,
      maxIds: vars.GATEWAY_MAX_IDS,
      maxResponseBytes: vars.GATEWAY_MAX_RESPONSE_BYTES,
      maxConcurrentOperations: vars.GATEWAY_MAX_CONCURRENT_OPERATIONS,
      maxRecordsInFlight: vars.GATEWAY_MAX_RECORDS_IN_FLIGHT,
      maxQueuedOperations: vars.GATEWAY_MAX_QUEUED_OPERATIONS,
      maxBodyBytes: vars.GATEWAY_MAX_BODY_BYTES,
      requestTimeoutMs: vars.GATEWAY_REQUEST_TIMEOUT_MS,
      ratePerSecond: vars.GATEWAY_RATE_PER_SECOND,
      rateBurst: vars.GATEWAY_RATE_BURST,
    },
    cache: {
      enabled: defaultOn(vars.GATEWAY_CACHE, true),
      ttlMs: {
        redPackStatistics: vars.POLYV_CACHE_TTL_RED_PACKS_S * 1000,
        incomeDetail: vars.POLYV_CACHE_TTL_INCOME_S * 1000,
      },
      maxBytes: vars.GATEWAY_CACHE_MAX_MB * 1024 * 1024,
    },
    redis: vars.REDIS_URL
      ? {
          url: vars.REDIS_URL,
          prefix: vars.GATEWAY_REDIS_PREFIX,
          commandTimeoutMs: vars.REDIS_TIMEOUT_MS,
        }
      : undefined,
    replicas: vars.GATEWAY_REPLICAS,
    server: { port: vars.PORT, host: vars.HOST, shutdownGraceMs: vars.GATEWAY_SHUTDOWN_GRACE_MS },
    metricsPort: vars.METRICS_PORT,
    metrics: {
      host: vars.METRICS_HOST,
      token: vars.METRICS_TOKEN,
      onMainPort:
        vars.METRICS_PORT === undefined && (!production || vars.METRICS_TOKEN !== undefined),
    },
    http: {
      corsOrigins: readCorsOrigins(vars.GATEWAY_CORS_ORIGINS),
      introspection,
      stackTraces: defaultOn(vars.GATEWAY_STACK_TRACES, vars.NODE_ENV === 'development'),
      hideSchemaDetails: production,
      trustProxy,
    },
    execution: { compiled: defaultOn(vars.GATEWAY_COMPILED_EXECUTION, true) },
    exports: {
      maxRecords: vars.GATEWAY_EXPORT_MAX_RECORDS,
      maxInFlight: vars.GATEWAY_EXPORT_MAX_IN_FLIGHT,
      maxPerClient: vars.GATEWAY_EXPORT_MAX_PER_CLIENT,
    },
    live: {
      pollMs: vars.GATEWAY_LIVE_POLL_MS,
      leaseMs: vars.GATEWAY_LIVE_LEASE_MS,
      maxChannels: liveChannels(vars),
      maxChannelsPerClient: liveChannelsPerClient(vars),
      ceiling: { ratePerSecond: liveRate(vars), burst: Math.max(1, liveRate(vars)) },
      clientBudget: {
        ratePerSecond: vars.GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE / 60,
        burst: vars.GATEWAY_LIVE_CLIENT_CALLS_BURST,
      },
      maxSubscriptions: vars.GATEWAY_LIVE_MAX_SUBSCRIPTIONS,
      maxPerClient: vars.GATEWAY_LIVE_MAX_PER_CLIENT,
      maxPerConnection: vars.GATEWAY_LIVE_MAX_PER_CONNECTION,
      maxQueued: vars.GATEWAY_LIVE_MAX_QUEUED,
      maxDocumentBytes: vars.GATEWAY_LIVE_DOCUMENTS_MB * 1024 * 1024,
      keepAliveMs: vars.GATEWAY_LIVE_KEEPALIVE_MS,
      idleMs: vars.GATEWAY_LIVE_IDLE_MS,
    },
    playground,
    environment: vars.NODE_ENV,
  };
}

/** Polyv calls a second live polling may make: GATEWAY_LIVE_RATE_PER_SECOND, or half the upstream rate. */
const liveRate = (vars: Vars) =>
  vars.GATEWAY_LIVE_RATE_PER_SECOND ?? vars.POLYV_RATE_PER_SECOND / 2;

/** Channels a replica follows by default: 50, or as many as live polling's rate allows. */
const defaultLiveChannels = (vars: Vars) =>
  Math.max(
    1,
    Math.min(
      50,
      Math.floor((liveRate(vars) * vars.GATEWAY_LIVE_POLL_MS) / 1000 / vars.GATEWAY_REPLICAS),
    ),
  );
const liveChannels = (vars: Vars) => vars.GATEWAY_LIVE_MAX_CHANNELS ?? defaultLiveChannels(vars);
/** A client's share of them: a quarter by default, so one key never holds them all. */
const liveChannelsPerClient = (vars: Vars) =>
  vars.GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT ?? Math.max(1, Math.floor(liveChannels(vars) / 4));

/**
 * Polls must never be what exhausts Polyv's budget: every channel every replica may follow,
 * polled once an interval, must fit in live polling's rate (half the upstream rate by default;
 * queries keep the rest), and that rate in the upstream's. And a lease must outlive a few
 * polls, or it would lapse between two renewals.
 */
function checkLive(vars: Vars, problems: string[]): void {
  const channels = liveChannels(vars);
  const pollsPerSecond = (channels * vars.GATEWAY_REPLICAS * 1000) / vars.GATEWAY_LIVE_POLL_MS;
  const rate = liveRate(vars);
  if (rate > vars.POLYV_RATE_PER_SECOND)
    problems.push(
      `GATEWAY_LIVE_RATE_PER_SECOND: at most POLYV_RATE_PER_SECOND (${vars.POLYV_RATE_PER_SECOND}), what Polyv may be asked in all; got ${rate}`,
    );
  else if (pollsPerSecond > rate)
    problems.push(
      `GATEWAY_LIVE_MAX_CHANNELS: ${channels} channels × ${vars.GATEWAY_REPLICAS} replicas polled every ${vars.GATEWAY_LIVE_POLL_MS} ms (GATEWAY_LIVE_POLL_MS) is ${pollsPerSecond.toFixed(1)} Polyv calls a second, more than ${vars.GATEWAY_LIVE_RATE_PER_SECOND === undefined ? `half of POLYV_RATE_PER_SECOND (${vars.POLYV_RATE_PER_SECOND})` : `GATEWAY_LIVE_RATE_PER_SECOND (${rate})`}; follow fewer channels or poll less often`,
    );
  const perClient = liveChannelsPerClient(vars);
  if (perClient > channels)
    problems.push(
      `GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: at most GATEWAY_LIVE_MAX_CHANNELS (${channels}); got ${perClient}`,
    );
  if (vars.GATEWAY_LIVE_LEASE_MS < 3 * vars.GATEWAY_LIVE_POLL_MS)
    problems.push(
      `GATEWAY_LIVE_LEASE_MS: must be at least three polls (3 × GATEWAY_LIVE_POLL_MS = ${3 * vars.GATEWAY_LIVE_POLL_MS}); got ${vars.GATEWAY_LIVE_LEASE_MS}`,
    );
}

type Vars = z.infer<typeof envSchema>;

function readPolyv(vars: Vars, problems: string[]): GatewayConfig['polyv'] {
  const { POLYV_APP_ID: appId, POLYV_APP_SECRET: appSecret, POLYV_USER_ID: userId } = vars;
  if (appId && appSecret) {
    if (userId)
      return {
        mode: 'polyv',
        baseUrl: vars.POLYV_BASE_URL,
        credentials: { appId, appSecret, userId },
      };
    problems.push(
      'POLYV_USER_ID: required with real Polyv credentials (the account whose income is reported)',
    );
  } else if (appId || appSecret) {
    // Half a credential is a mistake, never a reason to fall back to the emulator silently.
    const [missing, given] = appId
      ? ['POLYV_APP_SECRET', 'POLYV_APP_ID']
      : ['POLYV_APP_ID', 'POLYV_APP_SECRET'];
    problems.push(
      `${missing}: required because ${given} is set (set both to use Polyv, or neither to run on the built-in emulator)`,
    );
  } else if (vars.NODE_ENV === 'production' && vars.POLYV_EMULATOR !== 'on') {
    problems.push(
      'POLYV_APP_ID, POLYV_APP_SECRET, POLYV_USER_ID: required in production (NODE_ENV=production); ' +
        "to serve the built-in emulator's demo data instead, set POLYV_EMULATOR=on",
    );
  }
  return { mode: 'emulator' };
}

/**
 * Safe by default: real credentials open the whole account's money data, so with them a keys
 * file is required unless auth is explicitly switched off. On the emulator auth is off unless
 * a keys file is given.
 */
function readAuth(
  vars: Vars,
  mode: 'polyv' | 'emulator',
  problems: string[],
): GatewayConfig['auth'] {
  const file = vars.GATEWAY_API_KEYS_FILE;
  if (vars.GATEWAY_AUTH === 'off') return { mode: 'off' };
  if (!file) {
    if (mode === 'emulator' && vars.GATEWAY_AUTH !== 'on') return { mode: 'off' };
    problems.push(
      'GATEWAY_API_KEYS_FILE: required to serve Polyv data (or set GATEWAY_AUTH=off to let anyone who can reach the gateway read it)',
    );
    return { mode: 'off' };
  }
  try {
    return { mode: 'keys', keys: readApiKeysFile(file) };
  } catch (error) {
    problems.push(
      `GATEWAY_API_KEYS_FILE: ${error instanceof Error ? error.message : String(error)}`,
    );
    return { mode: 'off' };
  }
}

/**
 * Off unless said otherwise: trusting X-Forwarded-For from anyone would let a client pick the
 * address its per-address rate limit is counted against.
 */
function readTrustProxy(
  setting: string | undefined,
  problems: string[],
): GatewayConfig['http']['trustProxy'] {
  if (setting === undefined || setting === 'off' || setting === 'false') return false;
  if (/^\d+$/.test(setting)) return Number(setting);
  const proxies = setting
    .split(',')
    .map((proxy) => proxy.trim())
    .filter(Boolean);
  try {
    // Express compiles the list as it will use it, so a typo is refused here, not at request time.
    express().set('trust proxy', proxies);
  } catch (error) {
    problems.push(
      `GATEWAY_TRUST_PROXY: must be off, a hop count, or proxy addresses/subnets (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return proxies;
}

/**
 * No other site's page may call the gateway unless configured, in development too: a gateway on
 * a laptop answers any page its browser opens, and with keys off it spends the Polyv quota.
 */
function readCorsOrigins(setting: string | undefined): '*' | string[] {
  if (setting === undefined) return [];
  if (setting === '*') return '*';
  return setting
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}
