/**
 * Every setting of the gateway, each declared once: its name (the environment variable, and
 * its key in the configuration file), type and range, default, and what it means. The typed
 * settings (`Settings`) are inferred from this table; loadConfig (./index.ts) reads them from
 * the environment and the file and places them in GatewayConfig; `npm run docs` writes
 * docs/configuration.md from it. Nothing in src/ reads a variable this table does not declare.
 *
 * A default is a value, or a function of the settings declared above it (so a setting comes
 * after those its default depends on); a function needs `defaultWords`, the docs' account of it.
 *
 * A new setting: declare it here, place it in GatewayConfig (`gatewayConfig` in ./index.ts; a
 * misspelt name fails tsc there), and run `npm run docs`.
 */
import { DEFAULT_CACHE_TTL_S, ENDPOINTS_IN_WORDS, KNOWN_ENDPOINT_IDS } from './endpoints.js';
import {
  calendarDay,
  integer,
  oneOf,
  onOff,
  origins,
  secondsByEndpoint,
  text,
  trueFalse,
  trustProxy,
  url,
  type SettingType,
} from './types.js';

/** The headings of docs/configuration.md, in order. */
export const SECTIONS = [
  'Polyv',
  'The built-in emulator',
  'Upstream protection',
  'Caching and scale-out',
  'Who may ask',
  'How much they may ask',
  'HTTP and the process',
  'Live updates',
  'Logs and traces',
] as const;
export type Section = (typeof SECTIONS)[number];

/** What a setting is, its default aside. */
interface About<T> {
  /** Its heading in the docs: by default, that of the last `.section()` above it. */
  section?: Section;
  type: SettingType<T>;
  /** The default in words (Markdown): with a function, or where the value is not the whole story. */
  defaultWords?: string;
  /** What it does (Markdown; links relative to docs/). */
  meaning: string;
  /** In the file only as `${env.NAME}`, so that the secret itself stays in the environment. */
  secret?: true;
  /** Set only in the environment, for this reason (the file cannot set it). */
  environmentOnly?: string;
  /** Still read, with a warning at start-up: what replaces it (plain text). */
  deprecated?: string;
}

/** A declared setting as the loader and the docs read it: its default a T, or a function to one. */
export interface Setting extends About<unknown> {
  readonly section: Section;
  readonly default: unknown;
}

/**
 * The table, built one setting at a time: `S` is the type of the settings declared so far, which
 * is what a default that is a function may read. So a setting is declared after those its default
 * depends on (there can be no circle), and TypeScript infers every type in one pass.
 */
class Declarations<S> {
  private constructor(
    readonly table: Readonly<Record<string, Setting>>,
    private readonly current?: Section,
  ) {}

  static start(): Declarations<object> {
    return new Declarations({});
  }

  /** The settings added after this are under this heading of docs/configuration.md. */
  section(section: Section): Declarations<S> {
    return new Declarations(this.table, section);
  }

  /** With a default, a setting always has a value: a T, or what the function makes of `S`. */
  add<const N extends string, T>(
    name: Exclude<N, keyof S>,
    declaration: About<T> & { default: NoInfer<T> | ((settings: S) => NoInfer<T>) },
  ): Declarations<S & { readonly [K in N]: T }>;
  /** Without one, it may be undefined. */
  add<const N extends string, T>(
    name: Exclude<N, keyof S>,
    declaration: About<T>,
  ): Declarations<S & { readonly [K in N]: T | undefined }>;
  add(name: string, declaration: About<unknown> & { default?: unknown }) {
    const section = declaration.section ?? this.current;
    if (!section) throw new Error(`${name}: no section`);
    if (Object.hasOwn(this.table, name)) throw new Error(`${name} is declared twice`);
    const setting: Setting = { default: undefined, ...declaration, section };
    return new Declarations({ ...this.table, [name]: setting }, this.current);
  }
}

const MB = 1024 * 1024;
const httpUrl = url({
  protocol: /^https?$/,
  expected: 'an http(s) URL',
  accepts: 'an http(s) URL',
});

const DECLARED = Declarations.start()
  // First, as the defaults of others depend on it; its row is under HTTP and the process.
  .add('NODE_ENV', {
    section: 'HTTP and the process',
    type: oneOf(['development', 'production', 'test']),
    default: 'development',
    environmentOnly: 'libraries (Express, React) read it there',
    meaning:
      '`production` selects the production defaults (see [Security → In production](security.md#in-production)).',
  })

  .section('Polyv')
  .add('POLYV_APP_ID', {
    type: text(),
    meaning: 'Polyv app id. Set it together with `POLYV_APP_SECRET`, or neither (emulator).',
  })
  .add('POLYV_APP_SECRET', {
    type: text(),
    secret: true,
    meaning: 'Polyv app secret. Never logged, never sent anywhere but into signatures.',
  })
  .add('POLYV_USER_ID', {
    type: text(),
    meaning:
      'The Polyv account id whose income `incomeRecords` reports. Required with credentials.',
  })
  .add('POLYV_BASE_URL', {
    type: httpUrl,
    default: 'https://api.polyv.net',
    meaning: 'Where Polyv is.',
  })
  /**
   * Demo data must be asked for in production, so that a deployment missing its credentials
   * refuses to start instead of serving made-up numbers.
   */
  .add('POLYV_EMULATOR', {
    type: onOff,
    default: (s) =>
      s.POLYV_APP_ID === undefined &&
      s.POLYV_APP_SECRET === undefined &&
      s.NODE_ENV !== 'production',
    defaultWords: 'on without credentials, except in production',
    meaning:
      "`on` serves the built-in emulator's demo data. In production (`NODE_ENV=production`) without credentials the gateway refuses to start unless this is `on`.",
  })

  // The demo as `npm start` serves it; `npm run emulator` reads the same variables.
  .section('The built-in emulator')
  .add('EMULATOR_LIVE', {
    type: text(),
    defaultWords: 'none: the demo data stays as it is',
    meaning:
      "A demo channel (e.g. `2812610`) that gets live red-pack activity, stamped with the current time: a new red pack every fourth tick, claims into red packs in progress in between, for subscriptions and the dashboard's Live switch to show. The control API can start and stop it too (see [Operations → The built-in Polyv emulator](operations.md#the-built-in-polyv-emulator)). Only on the built-in emulator: refused with Polyv credentials, as are the two below.",
  })
  .add('EMULATOR_LIVE_EVERY_MS', {
    type: integer(1),
    defaultWords: '`2000`',
    meaning:
      "The interval of `EMULATOR_LIVE`'s ticks, in milliseconds; one the emulator finds too short or too long stops the start-up, naming its range.",
  })
  .add('EMULATOR_LAST_DAY', {
    type: calendarDay,
    defaultWords: 'yesterday (China Standard Time)',
    meaning:
      'The last day of the demo data, which covers the months up to it: by default the data ends as today begins, so live red packs follow it. A fixed day gives the same records with the same dates on every run (the tests use `2026-11-19`); another day shifts them by whole days.',
  })

  // Whatever clients do, Polyv sees a careful client.
  .section('Upstream protection')
  .add('POLYV_TIMEOUT_MS', {
    type: integer(1),
    default: 10_000,
    meaning: 'Timeout of one upstream attempt.',
  })
  .add('POLYV_RETRIES', {
    type: integer(0, 10),
    default: 2,
    meaning:
      'Retries after the first attempt, for transient faults only (network, timeouts, 5xx, "qps exceeds").',
  })
  .add('POLYV_MAX_CONCURRENCY', {
    type: integer(1),
    default: 20,
    meaning: 'Upstream calls in flight at once, for the whole process.',
  })
  .add('POLYV_RATE_PER_SECOND', {
    type: integer(1),
    default: 100,
    meaning:
      'Token bucket on calls to Polyv, refill per second: at most burst + rate × t calls in any t seconds (1,050 per 10 s at the defaults; Polyv blocks past 1,500).',
  })
  .add('POLYV_RATE_BURST', {
    type: integer(1),
    default: 50,
    meaning: 'Token bucket on calls to Polyv: its size, the burst.',
  })
  .add('POLYV_MAX_QUEUE', {
    type: integer(1),
    default: 1_000,
    meaning:
      'Upstream calls that may wait for a turn (one queue per client, served in turn); past that, `QUEUE_FULL` for the longest queue.',
  })
  .add('POLYV_QUEUE_TIMEOUT_MS', {
    type: integer(1),
    default: 5_000,
    meaning: 'Longest wait for a turn; past that, `QUEUE_TIMEOUT`.',
  })
  .add('POLYV_QPS_BACKOFF_MS', {
    type: integer(1),
    default: 5_000,
    meaning: 'After Polyv answers "qps exceeds", no call to Polyv for this long, from any request.',
  })
  .add('POLYV_BREAKER_ERROR_PERCENT', {
    type: integer(1, 100),
    default: 50,
    meaning:
      "Circuit breaker: opens when this share of at least `POLYV_BREAKER_VOLUME` calls in 10 s failed on Polyv's side.",
  })
  .add('POLYV_BREAKER_VOLUME', {
    type: integer(1),
    default: 10,
    meaning: 'Circuit breaker: the fewest calls in 10 s it judges.',
  })
  .add('POLYV_BREAKER_RESET_MS', {
    type: integer(1),
    default: 10_000,
    meaning: 'Circuit breaker: how long it stays open before it lets a probe through.',
  })

  .section('Caching and scale-out')
  .add('GATEWAY_CACHE', {
    type: onOff,
    default: true,
    meaning:
      '`off` disables the upstream page cache and the response cache: every request asks Polyv (answers say `Cache-Control: no-store`).',
  })
  .add('POLYV_CACHE_TTL_S', {
    type: secondsByEndpoint(DEFAULT_CACHE_TTL_S),
    default: DEFAULT_CACHE_TTL_S,
    meaning: `Seconds a page of each Polyv endpoint is reused (\`0\`: never): ${ENDPOINTS_IN_WORDS}. An endpoint left out keeps its default. In the file, a map: \`POLYV_CACHE_TTL_S: { ${KNOWN_ENDPOINT_IDS[0]}: 10 }\`.`,
  })
  .add('POLYV_CACHE_TTL_RED_PACKS_S', {
    type: integer(0),
    deprecated: 'POLYV_CACHE_TTL_S=redPackStatistics=<seconds>',
    meaning:
      "Deprecated: `POLYV_CACHE_TTL_S`'s `redPackStatistics`. Still read (with a warning at start-up) while `POLYV_CACHE_TTL_S` is not set; with both set, the gateway refuses to start.",
  })
  .add('POLYV_CACHE_TTL_INCOME_S', {
    type: integer(0),
    deprecated: 'POLYV_CACHE_TTL_S=incomeDetail=<seconds>',
    meaning:
      "Deprecated: `POLYV_CACHE_TTL_S`'s `incomeDetail`. Still read (with a warning at start-up) while `POLYV_CACHE_TTL_S` is not set; with both set, the gateway refuses to start.",
  })
  .add('GATEWAY_CACHE_MAX_MB', {
    type: integer(1),
    default: 64,
    meaning:
      'One budget for everything cached in process: half for Polyv pages, three eighths for whole answers, an eighth for persisted queries.',
  })
  .add('REDIS_URL', {
    type: url({
      protocol: /^rediss?$/,
      expected: 'a redis:// or rediss:// URL',
      accepts: 'a `redis://` or `rediss://` URL',
    }),
    defaultWords: 'none: everything in process',
    meaning:
      'Redis that replicas share: page and response caches, persisted queries, the upstream and per-key token buckets, single-flight locks (see [Operations → With Redis](operations.md#with-redis-redis_url)). A URL with a password goes into the file as `${env.NAME}`.',
  })
  .add('GATEWAY_REDIS_PREFIX', {
    type: text(),
    default: 'polyv-graphql:',
    meaning: 'Prefix of every Redis key, so deployments can share one Redis.',
  })
  .add('REDIS_TIMEOUT_MS', {
    type: integer(1),
    default: 250,
    meaning:
      'A Redis command slower than this counts as Redis being down: the gateway falls back to in-process state, never waits.',
  })
  .add('GATEWAY_REPLICAS', {
    type: integer(1),
    default: 1,
    meaning:
      'Replicas sharing the limits: while Redis is down each keeps 1/N of every token bucket, so an outage never multiplies the rate Polyv sees.',
  })

  // Safe by default: real credentials open the whole account's money data.
  .section('Who may ask')
  .add('GATEWAY_API_KEYS_FILE', {
    type: text(),
    meaning:
      'JSON file of hashed API keys (see [Security → API keys](security.md#api-keys)). Required with credentials unless `GATEWAY_AUTH=off`.',
  })
  .add('GATEWAY_AUTH', {
    type: onOff,
    default: (s) =>
      Boolean(s.POLYV_APP_ID && s.POLYV_APP_SECRET && s.POLYV_USER_ID) ||
      s.GATEWAY_API_KEYS_FILE !== undefined,
    defaultWords: 'on with credentials, off on the emulator',
    meaning:
      '`off` lets anyone who can reach the gateway read the data (logged as a warning). On the emulator a keys file turns it on.',
  })
  .add('GATEWAY_RATE_PER_SECOND', {
    type: integer(1),
    default: 20,
    meaning: 'Token bucket per API key (per client address with auth off), refill per second.',
  })
  .add('GATEWAY_RATE_BURST', {
    type: integer(1),
    default: 100,
    meaning: 'Token bucket per API key (per client address with auth off): its size, the burst.',
  })

  .section('How much they may ask')
  .add('GATEWAY_MAX_DEPTH', {
    type: integer(1),
    default: 12,
    meaning: 'Deepest field nesting.',
  })
  .add('GATEWAY_MAX_ALIASES', {
    type: integer(1),
    default: 30,
    meaning: 'Aliases per operation.',
  })
  .add('GATEWAY_MAX_ROOT_FIELDS', {
    type: integer(1),
    default: 20,
    meaning: 'Root fields per operation.',
  })
  .add('GATEWAY_MAX_DOCUMENT_BYTES', {
    type: integer(1),
    default: 20_000,
    meaning: 'Largest GraphQL document, in bytes.',
  })
  /** Same-named field pairs validation may compare (server/prepare.ts `overlapWork`). */
  .add('GATEWAY_MAX_VALIDATION_WORK', {
    type: integer(100),
    default: 100_000,
    meaning:
      'The most pairs of same-named fields (and their sub-selections) validating one document may compare, estimated before validating: documents that repeat a field hundreds of times are refused before they cost CPU.',
  })
  .add('GATEWAY_MAX_COST', {
    type: integer(1),
    default: 200_000,
    meaning: 'Largest estimated cost (see [Security → Limits](security.md#limits)).',
  })
  .add('GATEWAY_MAX_UPSTREAM_CALLS', {
    type: integer(1),
    default: 200,
    meaning:
      'Polyv calls one operation may make: estimated before it runs (a connection is one or two, counting every list item above it; a summary one per page it may walk) and enforced as the calls are made.',
  })
  /**
   * Summaries are not counted: they let their pages go. The default is one connection's worst
   * case, so any single page of up to 1,000 can be asked for.
   */
  .add('GATEWAY_MAX_UPSTREAM_RECORDS', {
    type: integer(1),
    default: 3_001,
    meaning:
      "Records (red packs, income records) one operation may fetch and hold: estimated before it runs, enforced as pages are asked for. The default is one connection's worst case (a window of 1,000 between two cursors is three Polyv pages, plus the read of the list's length).",
  })
  /**
   * Operations that would pass it wait their turn. About 20 kB a record held (11.7 kB for a red
   * pack with 20 receives, measured by bench/recordHeap.ts, plus its share of the answer).
   */
  .add('GATEWAY_MAX_RECORDS_IN_FLIGHT', {
    type: integer(1),
    default: 4_000,
    meaning:
      'Records all running operations may hold together, by their estimates (or cost ÷ 100): what bounds the heap (see [Security → Limits](security.md#limits)).',
  })
  /** 1,000 records a Polyv page: the default lets a query hold four summaries. */
  .add('GATEWAY_SUMMARY_MAX_RECORDS', {
    type: integer(1),
    default: 50_000,
    meaning:
      'The most records one summary may add up; a summary counts as this ÷ 1,000 pages (50) against `GATEWAY_MAX_UPSTREAM_CALLS`.',
  })
  .add('GATEWAY_EXPORT_MAX_RECORDS', {
    type: integer(1),
    default: 100_000,
    meaning:
      'The most records (red packs, income records) one export may walk (see [Exports](exports.md)): past it the export is refused before any row, from the list\'s first page (`QUERY_LIMIT_EXCEEDED`, `limit: "exportRecords"`). An export holds the pages in flight, not the rows it sent.',
  })
  .add('GATEWAY_EXPORT_MAX_IN_FLIGHT', {
    type: integer(1),
    default: 2,
    meaning:
      'Exports streaming at once in one replica (each holds up to four Polyv pages, asked for and not yet written: see [Security → Limits](security.md#limits)); past it, `SERVER_BUSY` (HTTP 503).',
  })
  .add('GATEWAY_EXPORT_MAX_PER_CLIENT', {
    type: integer(1),
    default: 1,
    meaning:
      'Exports one API key (one client address with keys off) may stream at once in one replica; past it, `RATE_LIMITED` (HTTP 429).',
  })
  .add('GATEWAY_MAX_IDS', {
    type: integer(1),
    default: 200,
    meaning: 'Longest `channels(ids)` and `_entities(representations)` list.',
  })
  .add('GATEWAY_MAX_RESPONSE_BYTES', {
    type: integer(1_000),
    default: 8 * MB,
    defaultWords: '`8388608` (8 MB)',
    meaning:
      'Largest answer, in bytes of JSON; a larger one is replaced by a `QUERY_LIMIT_EXCEEDED` error, never truncated.',
  })
  .add('GATEWAY_MAX_CONCURRENT_OPERATIONS', {
    type: integer(1),
    default: 32,
    meaning:
      'Operations executing at once in the process, however few records they hold (see [Security → Limits](security.md#limits)).',
  })
  .add('GATEWAY_MAX_QUEUED_OPERATIONS', {
    type: integer(0),
    default: 200,
    meaning:
      'Operations that may wait for an execution slot, each until its deadline; past it, `SERVER_BUSY` (HTTP 503).',
  })
  .add('GATEWAY_MAX_BODY_BYTES', {
    type: integer(1),
    default: 100_000,
    meaning: 'Largest HTTP request body, in bytes.',
  })
  .add('GATEWAY_REQUEST_TIMEOUT_MS', {
    type: integer(1),
    default: 30_000,
    meaning: 'Deadline of one GraphQL request, upstream waits included.',
  })
  .add('GATEWAY_SHUTDOWN_GRACE_MS', {
    type: integer(0),
    default: 10_000,
    meaning: 'On SIGTERM, how long requests in flight may take to finish.',
  })

  .section('HTTP and the process')
  .add('PORT', {
    type: integer(0, 65_535),
    default: 4000,
    meaning: 'HTTP port (`0` picks a free one).',
  })
  .add('METRICS_PORT', {
    type: integer(0, 65_535),
    defaultWords: 'none: `/metrics` on `PORT`, except in production',
    meaning:
      'Serve `/metrics` on this port, not on `PORT` (see [Operations → Metrics](operations.md#metrics)).',
  })
  .add('METRICS_HOST', {
    type: text(),
    default: '127.0.0.1',
    meaning: 'Interface of `METRICS_PORT` (e.g. `0.0.0.0` for a scraper on a private network).',
  })
  .add('METRICS_TOKEN', {
    type: text({ minLength: 16 }),
    secret: true,
    meaning:
      '`/metrics` then needs `Authorization: Bearer <token>`. In production `/metrics` is on `PORT` only with it.',
  })
  /** Off unless said otherwise: trusting anyone would let a client pick its rate limit's address. */
  .add('GATEWAY_TRUST_PROXY', {
    type: trustProxy,
    default: false,
    meaning:
      'Who may set the client address (`X-Forwarded-For`): `off`, a hop count, or proxy addresses/subnets (see [Security → Client addresses behind proxies](security.md#client-addresses-behind-proxies)).',
  })
  .add('HOST', {
    type: text(),
    default: '127.0.0.1',
    meaning:
      'Interface to listen on: loopback by default, so a development gateway is not reachable from the network. A container sets `0.0.0.0` (the image does).',
  })
  /**
   * Node's own 5 s is shorter than the idle timeout of the load balancers and routers in front
   * of a gateway (60 s at AWS's ALB and GCP's, 90 s in the router's hyper pool): they would
   * reuse a connection the gateway had just closed, and a POST lost that way is not retried.
   */
  .add('GATEWAY_KEEP_ALIVE_TIMEOUT_S', {
    type: integer(1, 3_600),
    default: 75,
    meaning:
      "Seconds an idle HTTP connection is kept open for the client's next request. Keep it longer than the idle timeout of whatever pools connections to the gateway (a load balancer, a router): otherwise it may send a request on a connection the gateway is closing.",
  })
  /**
   * No other site's page may call the gateway unless configured, in development too: a gateway
   * on a laptop answers any page its browser opens, and with keys off it spends the Polyv quota.
   */
  .add('GATEWAY_CORS_ORIGINS', {
    type: origins,
    default: [],
    defaultWords: 'none, in every environment',
    meaning:
      "Browser origins allowed to call the gateway from their pages (CORS) and to open its WebSockets, or `*`. Unset, no other site's page may.",
  })
  /** On the emulator too, even in production: demo data is there to be explored. */
  .add('GATEWAY_INTROSPECTION', {
    type: onOff,
    default: (s) =>
      s.NODE_ENV !== 'production' || !(s.POLYV_APP_ID && s.POLYV_APP_SECRET && s.POLYV_USER_ID),
    defaultWords: 'on, except in production with real credentials',
    meaning: 'Schema introspection (`__schema`, `__type`).',
  })
  .add('GATEWAY_PLAYGROUND', {
    type: onOff,
    default: (s) => s.GATEWAY_INTROSPECTION,
    defaultWords: 'follows `GATEWAY_INTROSPECTION`',
    meaning:
      'The GraphiQL playground at `GET /graphql` and the example dashboard. The playground loads the schema by introspection, so `on` with introspection off is refused at start-up.',
  })
  .add('GATEWAY_STACK_TRACES', {
    type: onOff,
    default: (s) => s.NODE_ENV === 'development',
    defaultWords: 'on in development only',
    meaning:
      'Stack traces of internal errors (`INTERNAL_SERVER_ERROR`) in responses; client errors never carry one.',
  })
  .add('GATEWAY_COMPILED_EXECUTION', {
    type: onOff,
    default: true,
    meaning:
      '`off` runs every operation on graphql-js. On, an operation seen again runs as code graphql-jit compiled from a copy with every literal a variable (see [Security → Code generation](security.md#code-generation-and-evaluation)).',
  })
  .add('GATEWAY_HEAP_GROWTH_PERCENT', {
    type: integer(0, 1_000),
    default: 50,
    meaning:
      "How far V8 lets the old generation grow past what the last full collection kept before it collects again (V8's `--heap-growing-percent`; 0: V8's own factor, up to 4× on a busy process). Every cold answer leaves about a megabyte of large strings (Polyv's page, the answer's text) that only a full collection frees; at 50 the peak RSS of the bench's cold load is about 150 MB instead of 190–240, for a few more full collections.",
  })
  .add('GATEWAY_CONFIG_FILE', {
    type: text(),
    defaultWords: 'none: the environment only',
    environmentOnly: 'it names the file',
    meaning:
      'A YAML (or JSON) file of settings, keyed by these names (see [The configuration file](#the-configuration-file)). The environment wins over it.',
  })

  .section('Live updates')
  .add('GATEWAY_LIVE_POLL_MS', {
    type: integer(500),
    default: 3_000,
    meaning:
      'Time between two polls of a subscribed channel, for every subscriber on every replica.',
  })
  .add('GATEWAY_LIVE_LEASE_MS', {
    type: integer(1_000),
    default: 10_000,
    meaning:
      "With Redis: how long a poller's lease on a channel lasts unrenewed; a dead replica's channels move to another within it. At least three polls.",
  })
  /** Queries keep the other half of the upstream rate. */
  .add('GATEWAY_LIVE_RATE_PER_SECOND', {
    type: integer(1),
    default: (s) => s.POLYV_RATE_PER_SECOND / 2,
    defaultWords: 'half of `POLYV_RATE_PER_SECOND`',
    meaning:
      'The ceiling of live polling: Polyv calls a second that polls and totals walks may make, with a burst of one second of it (so at most 11 seconds of it in any 10 s), shared by the replicas through Redis as `POLYV_RATE_PER_SECOND` is. Calls past it wait. At most `POLYV_RATE_PER_SECOND`, and enough for the polls of every channel every replica may follow.',
  })
  .add('GATEWAY_LIVE_MAX_CHANNELS', {
    type: integer(1),
    default: (s) =>
      Math.max(
        1,
        Math.min(
          50,
          Math.floor(
            (s.GATEWAY_LIVE_RATE_PER_SECOND * s.GATEWAY_LIVE_POLL_MS) / 1000 / s.GATEWAY_REPLICAS,
          ),
        ),
      ),
    defaultWords:
      '50, or fewer so that polls take at most `GATEWAY_LIVE_RATE_PER_SECOND` (half of `POLYV_RATE_PER_SECOND`) with every replica at its maximum',
    meaning: 'Channels (with their session filters) one replica may follow at once.',
  })
  .add('GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT', {
    type: integer(1),
    default: (s) => Math.max(1, Math.floor(s.GATEWAY_LIVE_MAX_CHANNELS / 4)),
    defaultWords: 'a quarter of `GATEWAY_LIVE_MAX_CHANNELS` (12 of 50), at least 1',
    meaning:
      'Channels (with their session filters) one API key (one client address with keys off) may make one replica follow: past it, it may subscribe only to channels the replica already follows (`liveChannelsPerClient`). So one key cannot take every channel of a replica, and another can still follow its own. At most `GATEWAY_LIVE_MAX_CHANNELS`.',
  })
  .add('GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE', {
    type: integer(1),
    default: 60,
    meaning:
      "What one API key (one client address with keys off) may spend on Polyv starting to follow channels, refill a minute: the first poll of a channel (or `sessionId` filter) a replica did not follow, and its totals walk page by page, are paid from the key's bucket (shared through Redis). A subscription that would start one with the bucket empty is refused (`RATE_LIMITED`, `limit: liveUpstreamCalls`, with `retryAfterSeconds`).",
  })
  .add('GATEWAY_LIVE_CLIENT_CALLS_BURST', {
    type: integer(1),
    default: 20,
    meaning:
      "The size of that bucket: what a key may spend at once. A walk longer than what is left waits for the bucket to refill (the channel's totals come later).",
  })
  .add('GATEWAY_LIVE_MAX_SUBSCRIPTIONS', {
    type: integer(1),
    default: 5_000,
    meaning:
      'Subscriptions open in one replica, in all. Each holds about 12 kB of heap (bench, scenario 6): the default bounds them to about 60 MB.',
  })
  .add('GATEWAY_LIVE_MAX_PER_CLIENT', {
    type: integer(1),
    default: 1_000,
    meaning:
      'Subscriptions one API key (one client address with keys off) may hold open in one replica.',
  })
  .add('GATEWAY_LIVE_MAX_PER_CONNECTION', {
    type: integer(1),
    default: 20,
    meaning: 'Subscriptions one WebSocket connection may carry.',
  })
  .add('GATEWAY_LIVE_MAX_QUEUED', {
    type: integer(1),
    default: 100,
    meaning: 'Messages a subscriber may leave unread; past it, it is dropped (a slow consumer).',
  })
  .add('GATEWAY_LIVE_DOCUMENTS_MB', {
    type: integer(1),
    default: 16,
    meaning:
      'Distinct documents (estimated as parsed, in MB) the subscriptions of one replica may keep, one client at most a quarter of it: subscriptions sharing a document count it once. Past it a subscription is refused (`subscriptionDocuments`, `subscriptionDocumentsPerClient`).',
  })
  .add('GATEWAY_LIVE_KEEPALIVE_MS', {
    type: integer(1_000),
    default: 12_000,
    meaning:
      "WebSocket keep-alive: a ping this often; a connection that has not answered the last one by the next is dropped. (Event streams get a comment every 12 s, graphql-sse's own.)",
  })
  .add('GATEWAY_LIVE_IDLE_MS', {
    type: integer(1_000),
    default: 60_000,
    meaning: 'A WebSocket connection that carries no subscription for this long is closed.',
  })

  .section('Logs and traces')
  .add('LOG_LEVEL', {
    type: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    meaning:
      "Log level (see [Operations → Logs](operations.md#logs)): the environment's from the first line, the file's once the file is read. A bad one stops the gateway as any bad setting does (the logger starts at `info` to say so).",
  })
  .add('OTEL_SDK_DISABLED', {
    type: trueFalse,
    default: false,
    environmentOnly: 'OpenTelemetry is configured there, here as everywhere',
    meaning: '`true`: no traces exported, whatever else is set.',
  })
  .add('OTEL_TRACES_EXPORTER', {
    type: oneOf(['otlp', 'none']),
    defaultWords: 'none: `otlp` when an OTLP endpoint is set',
    environmentOnly: 'OpenTelemetry is configured there, here as everywhere',
    meaning:
      '`otlp` exports traces over OTLP/HTTP (see [Operations → Traces](operations.md#traces)); `none` does not, even with an endpoint set. The gateway has no other exporter.',
  })
  .add('OTEL_EXPORTER_OTLP_ENDPOINT', {
    type: httpUrl,
    defaultWords: 'none; with `otlp`, `http://localhost:4318`',
    environmentOnly: 'the exporter reads it there itself',
    meaning: 'Where traces go (the SDK adds `/v1/traces`); setting it switches exporting on.',
  })
  .add('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', {
    type: httpUrl,
    defaultWords: 'none',
    environmentOnly: 'the exporter reads it there itself',
    meaning:
      'Where traces go, the whole URL (over `OTEL_EXPORTER_OTLP_ENDPOINT`); setting it switches exporting on.',
  });

type Flat<S> = { [K in keyof S]: S[K] };

/** Every setting's value, typed from its declaration: a setting without a default may be undefined. */
export type Settings = Flat<typeof DECLARED extends Declarations<infer S> ? S : never>;
export type SettingName = keyof Settings;

/** Every declaration, in order: a default that is a function reads only settings above it. */
export const SETTINGS = DECLARED.table as Readonly<Record<SettingName, Setting>>;
