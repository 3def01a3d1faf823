/**
 * Configuration, read once at start-up and validated as a whole. Every setting is declared once,
 * in ./settings.ts (name, type and range, default, meaning); here its value is read from the
 * environment or, where the environment does not set it, from the configuration file
 * (GATEWAY_CONFIG_FILE, ./file.ts), checked against the others, and placed where the gateway's
 * parts take it: GatewayConfig, whose type is inferred from `gatewayConfig` below. Every problem
 * is reported with the setting's name, all of them at once, so an operator fixes them in one go.
 */
import { readApiKeysFile, type ApiKey } from '../auth/apiKeys.js';
import { KNOWN_ENDPOINT_IDS, type KnownEndpointId } from './endpoints.js';
import { readConfigFile } from './file.js';
import {
  SETTINGS,
  type Section,
  type Setting,
  type SettingName,
  type Settings,
} from './settings.js';
import { fileValue } from './types.js';

export { KNOWN_ENDPOINT_IDS, type KnownEndpointId } from './endpoints.js';
export { SECTIONS, SETTINGS, type Section, type SettingName, type Settings } from './settings.js';

export interface PolyvCredentials {
  appId: string;
  appSecret: string;
  userId: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Told what is deprecated but still read (src/index.ts logs it as a warning). */
  warn?: (message: string) => void;
}

/** Reads and validates the configuration; throws a ConfigError naming every bad setting. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOptions = {},
): GatewayConfig {
  const { settings, given } = readSettings(env);
  for (const name of given) {
    const replacement = declaration(name).deprecated;
    if (replacement) options.warn?.(`${name} is deprecated: use ${replacement}`);
  }
  const problems: string[] = [];
  const config = gatewayConfig(settings, given, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const declaration = (name: SettingName): Setting => SETTINGS[name];
const NAMES = Object.keys(SETTINGS) as SettingName[];

/**
 * Every setting's value: the environment's (an empty variable counts as not set: that is how
 * shells and .env files say it), else the file's, else its default. Defaults are worked out in
 * the order of the declarations, so a function finds the settings it reads already known.
 */
function readSettings(env: NodeJS.ProcessEnv): {
  settings: Settings;
  given: ReadonlySet<SettingName>;
} {
  const problems: string[] = [];
  const values = new Map<SettingName, unknown>();
  for (const name of NAMES) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const parsed = declaration(name).type.parse(text);
    if (parsed.ok) values.set(name, parsed.value);
    else problems.push(`${name}: ${parsed.problem}`);
  }
  const file = values.get('GATEWAY_CONFIG_FILE') as Settings['GATEWAY_CONFIG_FILE'];
  if (file) {
    for (const { name, value } of readConfigFile(file, env, problems)) {
      // Every value of the file is checked, even one the environment overrides here.
      const parsed = fileValue(declaration(name).type, value);
      if (!parsed.ok) problems.push(`${name} (in ${file}): ${parsed.problem}`);
      else if (!values.has(name)) values.set(name, parsed.value);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const given: ReadonlySet<SettingName> = new Set(values.keys());
  const settings: Record<string, unknown> = {};
  for (const name of NAMES) {
    const fallback = declaration(name).default;
    settings[name] = values.has(name)
      ? values.get(name)
      : typeof fallback === 'function'
        ? (fallback as (above: Record<string, unknown>) => unknown)(settings)
        : fallback;
  }
  return { settings: settings as Settings, given };
}

/**
 * One setting read from the environment alone, before the configuration is (the logger's level
 * and whether it pretty-prints, so that a bad configuration can be logged): its value, or its
 * default when it is unset or not valid (loadConfig then names the problem).
 */
export function fromEnvironment<K extends 'LOG_LEVEL' | 'NODE_ENV'>(
  name: K,
  env: NodeJS.ProcessEnv = process.env,
): Settings[K] {
  const { type, default: fallback } = declaration(name);
  const parsed = env[name] ? type.parse(env[name]) : undefined;
  return (parsed?.ok ? parsed.value : fallback) as Settings[K];
}

const MB = 1024 * 1024;

/** The settings, placed where the gateway's parts take them; cross-setting problems noted. */
function gatewayConfig(s: Settings, given: ReadonlySet<SettingName>, problems: string[]) {
  const production = s.NODE_ENV === 'production';
  if (s.GATEWAY_PLAYGROUND && !s.GATEWAY_INTROSPECTION)
    problems.push(
      'GATEWAY_PLAYGROUND: on needs GATEWAY_INTROSPECTION=on (the playground loads the schema by introspection)',
    );
  checkLive(s, given, problems);
  const polyv = readPolyv(s, problems);
  return {
    /** Where the upstream is: the real Polyv, or the built-in emulator when no credentials are set. */
    polyv,
    /** The built-in emulator's demo (EMULATOR_*), when it serves; undefined with real Polyv. */
    emulator: readEmulator(s, given, polyv.mode, problems),
    /** How the gateway calls Polyv (POLYV_*): timeouts, retries, rate, queue and breaker. */
    polyvCalls: {
      timeoutMs: s.POLYV_TIMEOUT_MS,
      retries: s.POLYV_RETRIES,
      maxConcurrency: s.POLYV_MAX_CONCURRENCY,
      ratePerSecond: s.POLYV_RATE_PER_SECOND,
      rateBurst: s.POLYV_RATE_BURST,
      maxQueue: s.POLYV_MAX_QUEUE,
      queueTimeoutMs: s.POLYV_QUEUE_TIMEOUT_MS,
      qpsBackoffMs: s.POLYV_QPS_BACKOFF_MS,
      breaker: {
        errorPercent: s.POLYV_BREAKER_ERROR_PERCENT,
        volume: s.POLYV_BREAKER_VOLUME,
        resetMs: s.POLYV_BREAKER_RESET_MS,
      },
    },
    /** `keys`: every GraphQL request needs one of these keys. `off`: anyone may ask. */
    auth: readAuth(s, problems),
    limits: {
      maxDepth: s.GATEWAY_MAX_DEPTH,
      maxAliases: s.GATEWAY_MAX_ALIASES,
      maxRootFields: s.GATEWAY_MAX_ROOT_FIELDS,
      maxDocumentBytes: s.GATEWAY_MAX_DOCUMENT_BYTES,
      maxValidationWork: s.GATEWAY_MAX_VALIDATION_WORK,
      maxCost: s.GATEWAY_MAX_COST,
      maxUpstreamCalls: s.GATEWAY_MAX_UPSTREAM_CALLS,
      maxUpstreamRecords: s.GATEWAY_MAX_UPSTREAM_RECORDS,
      summaryMaxRecords: s.GATEWAY_SUMMARY_MAX_RECORDS,
      maxIds: s.GATEWAY_MAX_IDS,
      maxResponseBytes: s.GATEWAY_MAX_RESPONSE_BYTES,
      maxConcurrentOperations: s.GATEWAY_MAX_CONCURRENT_OPERATIONS,
      maxRecordsInFlight: s.GATEWAY_MAX_RECORDS_IN_FLIGHT,
      maxQueuedOperations: s.GATEWAY_MAX_QUEUED_OPERATIONS,
      maxBodyBytes: s.GATEWAY_MAX_BODY_BYTES,
      requestTimeoutMs: s.GATEWAY_REQUEST_TIMEOUT_MS,
      /** Per principal: refill per second and burst. */
      ratePerSecond: s.GATEWAY_RATE_PER_SECOND,
      rateBurst: s.GATEWAY_RATE_BURST,
    },
    cache: {
      enabled: s.GATEWAY_CACHE,
      /** Upstream page TTL by endpoint id. */
      ttlMs: cacheTtlMs(s, given, problems),
      maxBytes: s.GATEWAY_CACHE_MAX_MB * MB,
    },
    /** Shared state for replicas; absent: everything in process. */
    redis: s.REDIS_URL
      ? { url: s.REDIS_URL, prefix: s.GATEWAY_REDIS_PREFIX, commandTimeoutMs: s.REDIS_TIMEOUT_MS }
      : undefined,
    replicas: s.GATEWAY_REPLICAS,
    server: {
      port: s.PORT,
      host: s.HOST,
      shutdownGraceMs: s.GATEWAY_SHUTDOWN_GRACE_MS,
      keepAliveTimeoutMs: s.GATEWAY_KEEP_ALIVE_TIMEOUT_S * 1000,
    },
    /** /metrics on its own port; absent: on the main port. */
    metricsPort: s.METRICS_PORT,
    metrics: {
      /** Interface of metricsPort. */
      host: s.METRICS_HOST,
      /** Bearer token required to read /metrics; absent: none. */
      token: s.METRICS_TOKEN,
      /**
       * Serve /metrics on the main port: when it has no port of its own, except in production
       * without a token (other clients' operation names and error rates are not public).
       */
      onMainPort: s.METRICS_PORT === undefined && (!production || s.METRICS_TOKEN !== undefined),
    },
    http: {
      corsOrigins: s.GATEWAY_CORS_ORIGINS,
      introspection: s.GATEWAY_INTROSPECTION,
      stackTraces: s.GATEWAY_STACK_TRACES,
      /** Leave "Did you mean …" suggestions out of validation errors. */
      hideSchemaDetails: production,
      /** Express's `trust proxy`: false (peer address), a hop count, or proxy addresses. */
      trustProxy: s.GATEWAY_TRUST_PROXY,
    },
    /** How operations run: compiled by graphql-jit from their second request (server/executor.ts), or not. */
    execution: { compiled: s.GATEWAY_COMPILED_EXECUTION },
    /** V8's heap growing factor past the last full collection, in percent (0: V8's own). */
    heapGrowthPercent: s.GATEWAY_HEAP_GROWTH_PERCENT,
    /** Streamed exports (server/exports/): what one may walk, and how many run at once. */
    exports: {
      maxRecords: s.GATEWAY_EXPORT_MAX_RECORDS,
      maxInFlight: s.GATEWAY_EXPORT_MAX_IN_FLIGHT,
      maxPerClient: s.GATEWAY_EXPORT_MAX_PER_CLIENT,
    },
    /** Subscriptions: how often channels are polled, and what a subscriber may hold. */
    live: {
      pollMs: s.GATEWAY_LIVE_POLL_MS,
      leaseMs: s.GATEWAY_LIVE_LEASE_MS,
      maxChannels: s.GATEWAY_LIVE_MAX_CHANNELS,
      /** Channels one client may make a replica follow (live/hub.ts). */
      maxChannelsPerClient: s.GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT,
      /** The ceiling of every live Polyv call (live/budget.ts). */
      ceiling: {
        ratePerSecond: s.GATEWAY_LIVE_RATE_PER_SECOND,
        burst: Math.max(1, s.GATEWAY_LIVE_RATE_PER_SECOND),
      },
      /** Each client's budget for the first polls of the channels it starts following. */
      clientBudget: {
        ratePerSecond: s.GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE / 60,
        burst: s.GATEWAY_LIVE_CLIENT_CALLS_BURST,
      },
      maxSubscriptions: s.GATEWAY_LIVE_MAX_SUBSCRIPTIONS,
      maxPerClient: s.GATEWAY_LIVE_MAX_PER_CLIENT,
      maxPerConnection: s.GATEWAY_LIVE_MAX_PER_CONNECTION,
      maxQueued: s.GATEWAY_LIVE_MAX_QUEUED,
      /** Estimated bytes of distinct documents this replica's subscriptions may keep. */
      maxDocumentBytes: s.GATEWAY_LIVE_DOCUMENTS_MB * MB,
      keepAliveMs: s.GATEWAY_LIVE_KEEPALIVE_MS,
      idleMs: s.GATEWAY_LIVE_IDLE_MS,
    },
    /** Serve the GraphiQL playground (GET /graphql and /). */
    playground: s.GATEWAY_PLAYGROUND,
    environment: s.NODE_ENV,
    /** The logger's level once the configuration is read (src/index.ts). */
    log: { level: s.LOG_LEVEL },
    /**
     * Export traces (observability/tracing.ts): OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint,
     * unless the SDK is disabled or the exporter is `none`. The exporter reads its own OTEL_*.
     */
    tracing: {
      enabled:
        !s.OTEL_SDK_DISABLED &&
        s.OTEL_TRACES_EXPORTER !== 'none' &&
        (s.OTEL_TRACES_EXPORTER === 'otlp' ||
          Boolean(s.OTEL_EXPORTER_OTLP_ENDPOINT || s.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)),
    },
  };
}

export type GatewayConfig = ReturnType<typeof gatewayConfig>;

/**
 * Polls must never be what exhausts Polyv's budget: every channel every replica may follow,
 * polled once an interval, must fit in live polling's rate (half the upstream rate by default;
 * queries keep the rest), and that rate in the upstream's. And a lease must outlive a few
 * polls, or it would lapse between two renewals.
 */
function checkLive(s: Settings, given: ReadonlySet<SettingName>, problems: string[]): void {
  const channels = s.GATEWAY_LIVE_MAX_CHANNELS;
  const replicas = s.GATEWAY_REPLICAS;
  const pollMs = s.GATEWAY_LIVE_POLL_MS;
  const pollsPerSecond = (channels * replicas * 1000) / pollMs;
  const rate = s.GATEWAY_LIVE_RATE_PER_SECOND;
  const upstream = s.POLYV_RATE_PER_SECOND;
  if (rate > upstream)
    problems.push(
      `GATEWAY_LIVE_RATE_PER_SECOND: at most POLYV_RATE_PER_SECOND (${upstream}), what Polyv may be asked in all; got ${rate}`,
    );
  else if (pollsPerSecond > rate)
    problems.push(
      `GATEWAY_LIVE_MAX_CHANNELS: ${channels} channels × ${replicas} replicas polled every ${pollMs} ms (GATEWAY_LIVE_POLL_MS) is ${pollsPerSecond.toFixed(1)} Polyv calls a second, more than ${given.has('GATEWAY_LIVE_RATE_PER_SECOND') ? `GATEWAY_LIVE_RATE_PER_SECOND (${rate})` : `half of POLYV_RATE_PER_SECOND (${upstream})`}; follow fewer channels or poll less often`,
    );
  if (s.GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT > channels)
    problems.push(
      `GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: at most GATEWAY_LIVE_MAX_CHANNELS (${channels}); got ${s.GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT}`,
    );
  if (s.GATEWAY_LIVE_LEASE_MS < 3 * pollMs)
    problems.push(
      `GATEWAY_LIVE_LEASE_MS: must be at least three polls (3 × GATEWAY_LIVE_POLL_MS = ${3 * pollMs}); got ${s.GATEWAY_LIVE_LEASE_MS}`,
    );
}

/**
 * POLYV_CACHE_TTL_S in milliseconds. The per-endpoint variables it replaced are still read,
 * unless it is set too: then which one is meant is unclear, and the gateway refuses to guess.
 */
function cacheTtlMs(
  s: Settings,
  given: ReadonlySet<SettingName>,
  problems: string[],
): Record<KnownEndpointId, number> {
  const seconds = { ...s.POLYV_CACHE_TTL_S };
  const aliases = [
    ['POLYV_CACHE_TTL_RED_PACKS_S', 'redPackStatistics'],
    ['POLYV_CACHE_TTL_INCOME_S', 'incomeDetail'],
  ] as const satisfies readonly (readonly [SettingName, KnownEndpointId])[];
  for (const [alias, endpoint] of aliases) {
    const value = s[alias];
    if (value === undefined) continue;
    if (given.has('POLYV_CACHE_TTL_S'))
      problems.push(
        `${alias}: deprecated, and POLYV_CACHE_TTL_S is set too: move it there (${endpoint}=${value}) and unset ${alias}`,
      );
    else seconds[endpoint] = value;
  }
  return Object.fromEntries(
    KNOWN_ENDPOINT_IDS.map((endpoint) => [endpoint, seconds[endpoint] * 1000]),
  ) as Record<KnownEndpointId, number>;
}

function readPolyv(
  s: Settings,
  problems: string[],
): { mode: 'polyv'; baseUrl: string; credentials: PolyvCredentials } | { mode: 'emulator' } {
  const { POLYV_APP_ID: appId, POLYV_APP_SECRET: appSecret, POLYV_USER_ID: userId } = s;
  if (appId && appSecret && userId)
    return { mode: 'polyv', baseUrl: s.POLYV_BASE_URL, credentials: { appId, appSecret, userId } };
  if (appId && appSecret) {
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
  } else if (!s.POLYV_EMULATOR) {
    problems.push(
      s.NODE_ENV === 'production'
        ? 'POLYV_APP_ID, POLYV_APP_SECRET, POLYV_USER_ID: required in production (NODE_ENV=production); ' +
            "to serve the built-in emulator's demo data instead, set POLYV_EMULATOR=on"
        : 'POLYV_APP_ID, POLYV_APP_SECRET, POLYV_USER_ID: required with POLYV_EMULATOR=off',
    );
  }
  return { mode: 'emulator' };
}

const EMULATOR_SETTINGS = [
  'EMULATOR_LIVE',
  'EMULATOR_LIVE_EVERY_MS',
  'EMULATOR_LAST_DAY',
] as const satisfies readonly SettingName[];

/**
 * The demo the built-in emulator serves. Its settings mean nothing to real Polyv: one set there
 * is a mistake (a leftover of a demo, say), refused rather than ignored.
 */
function readEmulator(
  s: Settings,
  given: ReadonlySet<SettingName>,
  mode: 'polyv' | 'emulator',
  problems: string[],
) {
  if (mode === 'polyv') {
    for (const name of EMULATOR_SETTINGS.filter((setting) => given.has(setting)))
      problems.push(
        `${name}: only for the built-in emulator, and Polyv credentials are set (unset ${name})`,
      );
    return undefined;
  }
  if (given.has('EMULATOR_LIVE_EVERY_MS') && !s.EMULATOR_LIVE)
    problems.push('EMULATOR_LIVE_EVERY_MS: the interval of EMULATOR_LIVE, which is not set');
  return {
    /** The data's last day (CST); undefined: yesterday, as the emulator counts it. */
    lastDay: s.EMULATOR_LAST_DAY,
    /** Live red-pack activity on a demo channel; undefined: none. */
    live: s.EMULATOR_LIVE
      ? { channelId: s.EMULATOR_LIVE, everyMs: s.EMULATOR_LIVE_EVERY_MS }
      : undefined,
  };
}

/**
 * With real credentials a keys file is required unless auth is explicitly off (GATEWAY_AUTH's
 * default); on the emulator auth is off unless a keys file is given or it is switched on.
 */
function readAuth(
  s: Settings,
  problems: string[],
): { mode: 'keys'; keys: ApiKey[] } | { mode: 'off' } {
  const file = s.GATEWAY_API_KEYS_FILE;
  if (!s.GATEWAY_AUTH) return { mode: 'off' };
  if (!file) {
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

/** One setting as docs/configuration.md shows it. */
export interface VariableDescription {
  name: SettingName;
  section: Section;
  /** The default in words, or `—`. */
  default: string;
  /** What its type accepts, in words. */
  accepts: string;
  meaning: string;
  secret: boolean;
  environmentOnly: string | undefined;
  deprecated: string | undefined;
}

/** Every setting, in the order of its declaration, as the docs show it. */
export function describeVariables(): VariableDescription[] {
  return NAMES.map((name) => {
    const setting = declaration(name);
    const fallback = setting.default;
    if (typeof fallback === 'function' && !setting.defaultWords)
      throw new Error(`${name}: a default that is a function needs defaultWords`);
    return {
      name,
      section: setting.section,
      default:
        setting.defaultWords ??
        (fallback === undefined ? '—' : setting.type.show(fallback as never)),
      accepts: setting.type.accepts,
      meaning: setting.meaning,
      secret: setting.secret ?? false,
      environmentOnly: setting.environmentOnly,
      deprecated: setting.deprecated,
    };
  });
}
