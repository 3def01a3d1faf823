/**
 * Configuration: defaults, safe auth defaults, production defaults, messages that name the
 * variable, and docs/configuration.md as the config module describes every variable.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { hashApiKey } from '../src/auth/apiKeys.js';
import * as prettier from 'prettier';
import {
  ConfigError,
  describeVariables,
  fromEnvironment,
  KNOWN_ENDPOINT_IDS,
  loadConfig,
} from '../src/config/index.js';
import { DEFAULT_LIVE_EVERY_MS } from '../emulator/index.js';
import { ENDPOINT_IDS, POLYV_ENDPOINTS } from '../src/polyv/endpoints.js';
import { configurationMarkdown } from '../src/tools/configDocs.js';

/** Each declared endpoint's default page TTL (src/polyv/endpoints.ts), in ms. */
const DEFAULT_TTL_MS = Object.fromEntries(
  ENDPOINT_IDS.map((id) => [id, POLYV_ENDPOINTS[id].defaultCacheTtlS * 1000]),
);

const credentials = { POLYV_APP_ID: 'app', POLYV_APP_SECRET: 'secret', POLYV_USER_ID: 'user' };
const noAuth = { ...credentials, GATEWAY_AUTH: 'off' };

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function keysFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'keys-')), 'keys.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('configuration', () => {
  it('runs on the emulator with documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      polyv: { mode: 'emulator' },
      emulator: { lastDay: undefined, live: undefined },
      polyvCalls: {
        timeoutMs: 10_000,
        retries: 2,
        maxConcurrency: 20,
        ratePerSecond: 100,
        rateBurst: 50,
        maxQueue: 1_000,
        queueTimeoutMs: 5_000,
        qpsBackoffMs: 5_000,
        breaker: { errorPercent: 50, volume: 10, resetMs: 10_000 },
      },
      auth: { mode: 'off' },
      limits: {
        maxDepth: 12,
        maxAliases: 30,
        maxRootFields: 20,
        maxDocumentBytes: 20_000,
        maxValidationWork: 100_000,
        maxCost: 200_000,
        maxUpstreamCalls: 200,
        maxUpstreamRecords: 3_001,
        summaryMaxRecords: 50_000,
        maxIds: 200,
        maxResponseBytes: 8 * 1024 * 1024,
        maxConcurrentOperations: 32,
        maxRecordsInFlight: 4_000,
        maxQueuedOperations: 200,
        maxBodyBytes: 100_000,
        requestTimeoutMs: 30_000,
        ratePerSecond: 20,
        rateBurst: 100,
      },
      cache: {
        enabled: true,
        ttlMs: DEFAULT_TTL_MS,
        maxBytes: 64 * 1024 * 1024,
      },
      redis: undefined,
      replicas: 1,
      // Loopback: a gateway started on a laptop is not on the network unless HOST says so.
      server: {
        port: 4000,
        host: '127.0.0.1',
        shutdownGraceMs: 10_000,
        keepAliveTimeoutMs: 75_000,
      },
      metrics: { host: '127.0.0.1', token: undefined, onMainPort: true },
      http: {
        // No other site's page may call it, in development too.
        corsOrigins: [],
        introspection: true,
        stackTraces: true,
        hideSchemaDetails: false,
        trustProxy: false,
      },
      execution: { compiled: true },
      exports: { maxRecords: 100_000, maxInFlight: 2, maxPerClient: 1 },
      heapGrowthPercent: 50,
      live: {
        pollMs: 3_000,
        leaseMs: 10_000,
        maxChannels: 50,
        maxChannelsPerClient: 12,
        ceiling: { ratePerSecond: 50, burst: 50 },
        clientBudget: { ratePerSecond: 1, burst: 20 },
        maxSubscriptions: 5_000,
        maxPerClient: 1_000,
        maxPerConnection: 20,
        maxQueued: 100,
        maxDocumentBytes: 16 * 1024 * 1024,
        keepAliveMs: 12_000,
        idleMs: 60_000,
      },
      playground: true,
      environment: 'development',
      // New with LOG_LEVEL and OTEL_* declared with the rest (they were read elsewhere).
      log: { level: 'info' },
      tracing: { enabled: false },
    });
  });

  it('never lets polls of subscribed channels take more than half the upstream rate', () => {
    // The default follows fewer channels when the rate is low or replicas are many...
    expect(loadConfig({ POLYV_RATE_PER_SECOND: '10' }).live.maxChannels).toBe(15);
    expect(
      loadConfig({ POLYV_RATE_PER_SECOND: '10', GATEWAY_REPLICAS: '3' }).live.maxChannels,
    ).toBe(5);
    // ...and a setting that would pass half of it is refused, saying what it would cost.
    expect(() =>
      loadConfig({ GATEWAY_LIVE_MAX_CHANNELS: '200', GATEWAY_LIVE_POLL_MS: '1000' }),
    ).toThrow(
      'GATEWAY_LIVE_MAX_CHANNELS: 200 channels × 1 replicas polled every 1000 ms (GATEWAY_LIVE_POLL_MS) is 200.0 Polyv calls a second, more than half of POLYV_RATE_PER_SECOND (100)',
    );
    expect(() => loadConfig({ GATEWAY_LIVE_POLL_MS: '5000' })).toThrow(
      'GATEWAY_LIVE_LEASE_MS: must be at least three polls (3 × GATEWAY_LIVE_POLL_MS = 15000); got 10000',
    );
    expect(() => loadConfig({ GATEWAY_LIVE_POLL_MS: '100' })).toThrow(
      'GATEWAY_LIVE_POLL_MS: must be an integer of at least 500; got "100"',
    );
  });

  it("keeps the upstream rate well under Polyv's 1500 calls per 10 s by default", () => {
    const { ratePerSecond, rateBurst } = loadConfig({}).polyvCalls;
    expect(rateBurst + ratePerSecond * 10).toBeLessThanOrEqual(1_100);
  });

  it('uses Polyv with all three credentials, treating empty variables as unset', () => {
    const config = loadConfig({ ...noAuth, POLYV_BASE_URL: '', PORT: '8080' });
    expect(config.polyv).toEqual({
      mode: 'polyv',
      baseUrl: 'https://api.polyv.net',
      credentials: { appId: 'app', appSecret: 'secret', userId: 'user' },
    });
    expect(config.server.port).toBe(8080);
  });

  it.each([
    [{}, 'development', true],
    [{ NODE_ENV: 'production', POLYV_EMULATOR: 'on' }, 'production with the emulator', true],
    [{ NODE_ENV: 'production', ...noAuth }, 'production with Polyv', false],
    [
      { NODE_ENV: 'production', ...noAuth, GATEWAY_PLAYGROUND: 'on', GATEWAY_INTROSPECTION: 'on' },
      'production, both switched on',
      true,
    ],
    [
      { NODE_ENV: 'production', ...noAuth, GATEWAY_INTROSPECTION: 'on' },
      'production, introspection switched on: the playground follows',
      true,
    ],
    [{ GATEWAY_PLAYGROUND: 'off' }, 'development, switched off', false],
  ])('playground for %j (%s): %p', (env, _case, expected) => {
    expect(loadConfig(env).playground).toBe(expected);
  });

  it('refuses to serve demo data in production unless asked, and a playground that cannot load its schema', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /POLYV_APP_ID, POLYV_APP_SECRET, POLYV_USER_ID: required in production .*set POLYV_EMULATOR=on/,
    );
    expect(loadConfig({ NODE_ENV: 'production', POLYV_EMULATOR: 'on' }).polyv).toEqual({
      mode: 'emulator',
    });
    expect(() =>
      loadConfig({ NODE_ENV: 'production', ...noAuth, GATEWAY_PLAYGROUND: 'on' }),
    ).toThrow(/GATEWAY_PLAYGROUND: on needs GATEWAY_INTROSPECTION=on/);
  });

  it('refuses the emulator switched off without credentials, in development too', () => {
    expect(problemsOf({ POLYV_EMULATOR: 'off' })).toMatch(
      /POLYV_APP_ID, POLYV_APP_SECRET, POLYV_USER_ID: required with POLYV_EMULATOR=off/,
    );
  });

  it('closes CORS and turns off introspection and stack traces in production', () => {
    expect(loadConfig({ NODE_ENV: 'production', ...noAuth }).http).toEqual({
      corsOrigins: [],
      introspection: false,
      stackTraces: false,
      hideSchemaDetails: true,
      trustProxy: false,
    });
    expect(
      loadConfig({
        NODE_ENV: 'production',
        ...noAuth,
        GATEWAY_CORS_ORIGINS: 'https://a.example, https://b.example',
        GATEWAY_INTROSPECTION: 'on',
      }).http,
    ).toEqual({
      corsOrigins: ['https://a.example', 'https://b.example'],
      introspection: true,
      stackTraces: false,
      hideSchemaDetails: true,
      trustProxy: false,
    });
  });

  it('opens CORS and the network only when told to, and switches compiled execution off', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).http.corsOrigins).toEqual([]);
    expect(loadConfig({ GATEWAY_CORS_ORIGINS: '*' }).http.corsOrigins).toBe('*');
    expect(loadConfig({ HOST: '0.0.0.0' }).server.host).toBe('0.0.0.0');
    expect(loadConfig({ GATEWAY_COMPILED_EXECUTION: 'off' }).execution).toEqual({
      compiled: false,
    });
    expect(problemsOf({ GATEWAY_COMPILED_EXECUTION: 'yes' })).toMatch(
      /GATEWAY_COMPILED_EXECUTION: must be on or off; got "yes"/,
    );
  });

  it('keeps /metrics off the main port in production unless a token guards it', () => {
    const production = { NODE_ENV: 'production', ...noAuth };
    expect(loadConfig(production).metrics.onMainPort).toBe(false);
    expect(loadConfig({ ...production, METRICS_PORT: '9464' }).metrics).toEqual({
      host: '127.0.0.1',
      token: undefined,
      onMainPort: false,
    });
    expect(
      loadConfig({ ...production, METRICS_TOKEN: 'a-long-enough-token' }).metrics.onMainPort,
    ).toBe(true);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(
      /METRICS_TOKEN: must be at least 16 characters/,
    );
  });

  it.each([
    [undefined, false],
    ['off', false],
    ['2', 2],
    ['loopback', ['loopback']],
    ['10.0.0.1, 10.1.0.0/16', ['10.0.0.1', '10.1.0.0/16']],
  ])('reads GATEWAY_TRUST_PROXY=%s as Express trust proxy %j', (setting, trust) => {
    expect(
      loadConfig(setting === undefined ? {} : { GATEWAY_TRUST_PROXY: setting }).http.trustProxy,
    ).toEqual(trust);
  });

  it.each(['true', 'proxy.example', '10.0.0.0/99'])('refuses GATEWAY_TRUST_PROXY=%s', (setting) => {
    expect(() => loadConfig({ GATEWAY_TRUST_PROXY: setting })).toThrow(
      /GATEWAY_TRUST_PROXY: must be off/,
    );
  });

  it('shares state through Redis when REDIS_URL is set', () => {
    expect(
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2', GATEWAY_REPLICAS: '3' }),
    ).toMatchObject({
      redis: { url: 'redis://127.0.0.1:6379/2', prefix: 'polyv-graphql:', commandTimeoutMs: 250 },
      replicas: 3,
    });
    expect(problemsOf({ REDIS_URL: 'http://127.0.0.1:6379' })).toMatch(
      /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it.each([
    ['PORT', 'abc', /^ {2}- PORT: must be an integer from 0 to 65535; got "abc"$/m],
    ['PORT', '99999', /^ {2}- PORT: must be an integer from 0 to 65535; got "99999"$/m],
    ['PORT', '80.5', /^ {2}- PORT: must be an integer from 0 to 65535; got "80.5"$/m],
    ['PORT', ' ', /^ {2}- PORT: must be an integer from 0 to 65535; got " "$/m],
    ['METRICS_PORT', '-1', /^ {2}- METRICS_PORT: must be an integer from 0 to 65535; got "-1"$/m],
    ['POLYV_RETRIES', '11', /^ {2}- POLYV_RETRIES: must be an integer from 0 to 10; got "11"$/m],
    [
      'POLYV_BREAKER_ERROR_PERCENT',
      '0',
      /^ {2}- POLYV_BREAKER_ERROR_PERCENT: must be an integer from 1 to 100; got "0"$/m,
    ],
    [
      'GATEWAY_MAX_DEPTH',
      'ten',
      /^ {2}- GATEWAY_MAX_DEPTH: must be an integer of at least 1; got "ten"$/m,
    ],
    [
      'GATEWAY_SHUTDOWN_GRACE_MS',
      '-5',
      /^ {2}- GATEWAY_SHUTDOWN_GRACE_MS: must be an integer of at least 0; got "-5"$/m,
    ],
    [
      'GATEWAY_MAX_RESPONSE_BYTES',
      '999',
      /^ {2}- GATEWAY_MAX_RESPONSE_BYTES: must be an integer of at least 1000; got "999"$/m,
    ],
  ])('says what %s=%p should be: the range and the value given', (name, value, message) => {
    expect(problemsOf({ [name]: value })).toMatch(message);
  });

  it('reads integers as before: surrounding blanks aside, in any notation Number() reads', () => {
    expect(loadConfig({ PORT: ' 8080 ', METRICS_PORT: '9464' })).toMatchObject({
      server: { port: 8080 },
      metricsPort: 9464,
    });
    expect(loadConfig({ GATEWAY_MAX_COST: '1e5' }).limits.maxCost).toBe(100_000);
  });

  it('reports bad variables by name, without echoing secrets', () => {
    const message = problemsOf({
      POLYV_APP_SECRET: 'hush-hush',
      PORT: '99999',
      GATEWAY_PLAYGROUND: 'maybe',
    });
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/GATEWAY_PLAYGROUND/);
    expect(message).not.toContain('hush-hush');
  });
});

describe("the built-in emulator's demo (EMULATOR_*)", () => {
  it.each([
    [{}, { lastDay: undefined, live: undefined }],
    [{ EMULATOR_LIVE: '2812610' }, { live: { channelId: '2812610', everyMs: undefined } }],
    [
      {
        EMULATOR_LIVE: ' 2812614 ',
        EMULATOR_LIVE_EVERY_MS: '500',
        EMULATOR_LAST_DAY: '2028-02-29',
      },
      { lastDay: '2028-02-29', live: { channelId: '2812614', everyMs: 500 } },
    ],
  ])('reads %j', (env, demo) => {
    expect(loadConfig(env).emulator).toMatchObject(demo);
  });

  it.each([
    [
      { EMULATOR_LAST_DAY: '2026-02-30' },
      /EMULATOR_LAST_DAY: must be a real calendar day written yyyy-MM-dd; got "2026-02-30"/,
    ],
    [{ EMULATOR_LAST_DAY: 'yesterday' }, /EMULATOR_LAST_DAY: must be a real calendar day/],
    [
      { EMULATOR_LIVE_EVERY_MS: '0', EMULATOR_LIVE: '1' },
      /EMULATOR_LIVE_EVERY_MS: must be an integer/,
    ],
    [
      { EMULATOR_LIVE_EVERY_MS: '500' },
      /EMULATOR_LIVE_EVERY_MS: the interval of EMULATOR_LIVE, which is not set/,
    ],
    // Real Polyv has no demo: a leftover demo setting is a mistake, not something to ignore.
    [
      { ...noAuth, EMULATOR_LIVE: '2812610' },
      /EMULATOR_LIVE: only for the built-in emulator, and Polyv credentials are set/,
    ],
    [
      { ...noAuth, EMULATOR_LAST_DAY: '2026-11-19' },
      /EMULATOR_LAST_DAY: only for the built-in emulator/,
    ],
  ])('refuses %j', (env, message) => {
    expect(problemsOf(env)).toMatch(message);
  });

  it('has no demo with real Polyv', () => {
    expect(loadConfig(noAuth).emulator).toBeUndefined();
  });

  it("documents the emulator's own default interval", () => {
    const interval = describeVariables().find((row) => row.name === 'EMULATOR_LIVE_EVERY_MS')!;
    expect(interval.default).toBe(`\`${DEFAULT_LIVE_EVERY_MS}\``);
  });
});

describe('authentication settings', () => {
  it('refuses to serve real credentials without a keys file unless auth is explicitly off', () => {
    expect(problemsOf(credentials)).toMatch(
      /GATEWAY_API_KEYS_FILE: required to serve Polyv data \(or set GATEWAY_AUTH=off/,
    );
    expect(loadConfig(noAuth).auth).toEqual({ mode: 'off' });
  });

  it('is off on the emulator unless asked for', () => {
    expect(loadConfig({}).auth).toEqual({ mode: 'off' });
    expect(problemsOf({ GATEWAY_AUTH: 'on' })).toMatch(/GATEWAY_API_KEYS_FILE/);
  });

  it('loads a keys file of hashes with optional channel lists', () => {
    const file = keysFile([
      { name: 'ops-dashboard', sha256: hashApiKey('k1'), channels: ['2812610'] },
      { name: 'finance', sha256: hashApiKey('k2').toUpperCase() },
    ]);
    const auth = loadConfig({ ...credentials, GATEWAY_API_KEYS_FILE: file }).auth;
    if (auth.mode !== 'keys') throw new Error('expected keys');
    expect(auth.keys.map((key) => [key.name, key.hash.toString('hex'), key.channels])).toEqual([
      ['ops-dashboard', hashApiKey('k1'), new Set(['2812610'])],
      ['finance', hashApiKey('k2'), 'all'],
    ]);
  });

  it.each([
    ['not json', /cannot read .* as JSON/],
    [[], /must list at least one key/],
    [[{ name: 'a', sha256: 'abc' }], /0\.sha256: must be 64 hex digits/],
    [
      [{ name: 'a', sha256: hashApiKey('x'), channels: ['abc'] }],
      /channels\.0: must be a channel number/,
    ],
    [
      [
        { name: 'a', sha256: hashApiKey('x') },
        { name: 'a', sha256: hashApiKey('y') },
      ],
      /duplicate name a/,
    ],
  ])('rejects the keys file %j', (content, message) => {
    expect(problemsOf({ ...credentials, GATEWAY_API_KEYS_FILE: keysFile(content) })).toMatch(
      message,
    );
  });

  it('names a missing keys file', () => {
    expect(problemsOf({ ...credentials, GATEWAY_API_KEYS_FILE: '/nonexistent/keys.json' })).toMatch(
      /GATEWAY_API_KEYS_FILE: cannot read \/nonexistent\/keys.json/,
    );
  });
});

describe('cache TTLs by endpoint', () => {
  const ttl = (env: Record<string, string>) => loadConfig(env).cache.ttlMs;

  it('reads seconds by endpoint id, an endpoint left out keeping its default', () => {
    expect(ttl({})).toEqual(DEFAULT_TTL_MS);
    expect(ttl({ POLYV_CACHE_TTL_S: 'redPackStatistics=5' })).toEqual({
      ...DEFAULT_TTL_MS,
      redPackStatistics: 5_000,
    });
    expect(ttl({ POLYV_CACHE_TTL_S: ' incomeDetail = 0 , redPackStatistics=1e1 ' })).toEqual({
      ...DEFAULT_TTL_MS,
      redPackStatistics: 10_000,
      incomeDetail: 0,
    });
    // One entry per endpoint the config module is given, and no other.
    expect(Object.keys(ttl({})).sort()).toEqual([...KNOWN_ENDPOINT_IDS].sort());
  });

  it.each([
    ['redPacks=5', `unknown endpoint "redPacks" (known: ${ENDPOINT_IDS.join(', ')})`],
    [
      '30',
      `must be endpoint=seconds pairs separated by commas, e.g. \`${ENDPOINT_IDS.map((id) => `${id}=${POLYV_ENDPOINTS[id].defaultCacheTtlS}`).join(',')}\`; got "30"`,
    ],
    ['red_packs=5', 'must be endpoint=seconds pairs separated by commas'],
    ['incomeDetail=-1', 'incomeDetail: must be an integer of at least 0; got "-1"'],
    ['incomeDetail=1,incomeDetail=2', 'incomeDetail is given twice'],
  ])('refuses POLYV_CACHE_TTL_S=%s, saying why', (setting, message) => {
    expect(problemsOf({ POLYV_CACHE_TTL_S: setting })).toContain(`POLYV_CACHE_TTL_S: ${message}`);
  });

  it('still reads the variables it replaced, with a warning naming the replacement', () => {
    const warnings: string[] = [];
    const config = loadConfig(
      { POLYV_CACHE_TTL_RED_PACKS_S: '1', POLYV_CACHE_TTL_INCOME_S: '0' },
      { warn: (message) => warnings.push(message) },
    );
    expect(config.cache.ttlMs).toEqual({
      ...DEFAULT_TTL_MS,
      redPackStatistics: 1_000,
      incomeDetail: 0,
    });
    expect(warnings).toEqual([
      'POLYV_CACHE_TTL_RED_PACKS_S is deprecated: use POLYV_CACHE_TTL_S=redPackStatistics=<seconds>',
      'POLYV_CACHE_TTL_INCOME_S is deprecated: use POLYV_CACHE_TTL_S=incomeDetail=<seconds>',
    ]);
    expect(problemsOf({ POLYV_CACHE_TTL_INCOME_S: 'x' })).toMatch(
      /^ {2}- POLYV_CACHE_TTL_INCOME_S: must be an integer of at least 0; got "x"$/m,
    );
  });

  it('refuses an old variable beside the new one rather than guess which is meant', () => {
    expect(
      problemsOf({ POLYV_CACHE_TTL_S: 'incomeDetail=5', POLYV_CACHE_TTL_RED_PACKS_S: '10' }),
    ).toContain(
      'POLYV_CACHE_TTL_RED_PACKS_S: deprecated, and POLYV_CACHE_TTL_S is set too: move it there (redPackStatistics=10) and unset POLYV_CACHE_TTL_RED_PACKS_S',
    );
  });
});

describe('the configuration file', () => {
  function configFile(content: string, name = 'gateway.config.yaml'): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'config-')), name);
    writeFileSync(file, content);
    return file;
  }
  const withFile = (content: string, env: Record<string, string> = {}, name?: string) => {
    const file = configFile(content, name);
    return { file, env: { GATEWAY_CONFIG_FILE: file, ...env } };
  };

  it('sets settings by their variable names, each read by its own declaration', () => {
    const { env } = withFile(`
GATEWAY_MAX_DEPTH: 8
GATEWAY_CACHE: off
GATEWAY_STACK_TRACES: false
POLYV_CACHE_TTL_S:
  incomeDetail: 5
GATEWAY_CORS_ORIGINS: [https://a.example, https://b.example]
GATEWAY_TRUST_PROXY: 1
GATEWAY_MAX_COST: '1e5'
LOG_LEVEL: debug
`);
    const config = loadConfig(env);
    expect(config.limits.maxDepth).toBe(8);
    expect(config.limits.maxCost).toBe(100_000);
    expect(config.cache.enabled).toBe(false);
    expect(config.cache.ttlMs).toEqual({ ...DEFAULT_TTL_MS, incomeDetail: 5_000 });
    expect(config.http).toMatchObject({
      stackTraces: false,
      corsOrigins: ['https://a.example', 'https://b.example'],
      trustProxy: 1,
    });
    expect(config.log.level).toBe('debug');
  });

  it('reads JSON too', () => {
    const { env } = withFile(
      '{ "PORT": 8081, "POLYV_CACHE_TTL_S": { "redPackStatistics": 0 } }',
      {},
      'gateway.json',
    );
    expect(loadConfig(env)).toMatchObject({
      server: { port: 8081 },
      cache: { ttlMs: { redPackStatistics: 0 } },
    });
  });

  it('gives way to the environment, which every setting can still be set in', () => {
    const { env } = withFile('PORT: 5000\nGATEWAY_MAX_DEPTH: 8\n');
    expect(loadConfig(env).server.port).toBe(5000);
    const config = loadConfig({ ...env, PORT: '6000', GATEWAY_MAX_DEPTH: '' });
    // A set variable wins; an empty one counts as not set, so the file's value holds.
    expect(config.server.port).toBe(6000);
    expect(config.limits.maxDepth).toBe(8);
  });

  it('checks its values with the same messages, naming the file, even where the environment wins', () => {
    const { file, env } = withFile('PORT: 99999\nGATEWAY_CACHE: maybe\n');
    const message = problemsOf({ ...env, PORT: '4000' });
    expect(message).toContain(`PORT (in ${file}): must be an integer from 0 to 65535; got "99999"`);
    expect(message).toContain(`GATEWAY_CACHE (in ${file}): must be on or off; got "maybe"`);
  });

  it('takes variables of the environment as ${env.NAME}, secrets only that way', () => {
    const secret = { POLYV_APP_ID: 'app', POLYV_USER_ID: 'user', GATEWAY_AUTH: 'off' };
    const { env } = withFile(
      'POLYV_APP_SECRET: ${env.FROM_THE_VAULT}\nGATEWAY_REDIS_PREFIX: "${env.TEAM}-graphql:"\n',
      { ...secret, FROM_THE_VAULT: 'hush-hush', TEAM: 'ops' },
    );
    const config = loadConfig(env);
    expect(config.polyv).toMatchObject({ credentials: { appSecret: 'hush-hush' } });

    const literal = withFile(
      'POLYV_APP_SECRET: hush-hush\nMETRICS_TOKEN: a-long-enough-token\n',
      secret,
    );
    const message = problemsOf(literal.env);
    expect(message).toContain(
      `POLYV_APP_SECRET (in ${literal.file}): a secret: write \${env.NAME} and set that variable, or set POLYV_APP_SECRET in the environment`,
    );
    expect(message).toMatch(/METRICS_TOKEN \(in .*\): a secret/);
    expect(message).not.toContain('hush-hush');
    expect(message).not.toContain('a-long-enough-token');
  });

  it.each([
    [
      'GATEWAY_MAX_DEPTH: ${env.UNSET_HERE}',
      'GATEWAY_MAX_DEPTH (in <file>): ${env.UNSET_HERE}: UNSET_HERE is not set',
    ],
    [
      'HOST: ${HOSTNAME}',
      'HOST (in <file>): ${…} takes a variable of the environment only: ${env.NAME}',
    ],
    [
      'port: 4000',
      'port (in <file>): not a setting; did you mean PORT? (see docs/configuration.md)',
    ],
    [
      'NODE_ENV: production',
      'NODE_ENV (in <file>): set it in the environment, not in the file: libraries (Express, React) read it there',
    ],
    [
      'GATEWAY_CONFIG_FILE: other.yaml',
      'GATEWAY_CONFIG_FILE (in <file>): set it in the environment, not in the file: it names the file',
    ],
    [
      'OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318',
      'OTEL_EXPORTER_OTLP_ENDPOINT (in <file>): set it in the environment',
    ],
    [
      'GATEWAY_MAX_DEPTH: [1, 2]',
      'GATEWAY_MAX_DEPTH (in <file>): must be an integer of at least 1; got a list',
    ],
    ['- PORT: 4000', 'GATEWAY_CONFIG_FILE: <file> must be a map of settings (NAME: value)'],
    ['PORT: 1\nPORT: 2', 'GATEWAY_CONFIG_FILE: cannot read <file>: Map keys must be unique'],
  ])('refuses %j', (content, expected) => {
    const { file, env } = withFile(content);
    expect(problemsOf(env)).toContain(expected.replaceAll('<file>', file));
  });

  it('refuses a file it cannot read', () => {
    expect(problemsOf({ GATEWAY_CONFIG_FILE: '/nonexistent/gateway.yaml' })).toMatch(
      /GATEWAY_CONFIG_FILE: cannot read \/nonexistent\/gateway.yaml: ENOENT/,
    );
  });

  it('loads the example of docs/configuration.md', () => {
    const page = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const example = /```yaml\n(# gateway\.config\.yaml[^]*?)```/.exec(page)?.[1];
    expect(example).toBeDefined();
    const keys = keysFile([{ name: 'router', sha256: hashApiKey('k') }]);
    const { env } = withFile(example!, {
      POLYV_SECRET: 'from-the-secret-store',
      REDIS_PASSWORD: 'p4ss',
      // The example's keys file is where the image mounts it; here the environment wins.
      GATEWAY_API_KEYS_FILE: keys,
    });
    const config = loadConfig(env);
    expect(config).toMatchObject({
      polyv: { mode: 'polyv', credentials: { appSecret: 'from-the-secret-store' } },
      auth: { mode: 'keys' },
      redis: { url: 'redis://:p4ss@redis:6379' },
      cache: { ttlMs: { ...DEFAULT_TTL_MS, redPackStatistics: 10_000 } },
      live: { pollMs: 5_000, leaseMs: 15_000 },
    });
  });
});

describe('logs and traces', () => {
  it('declares LOG_LEVEL with the rest, and reads it early from the environment alone', () => {
    expect(loadConfig({ LOG_LEVEL: 'warn' }).log.level).toBe('warn');
    expect(problemsOf({ LOG_LEVEL: 'verbose' })).toContain(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace or silent; got "verbose"',
    );
    // The logger starts before the configuration is read: a bad level leaves it at the default,
    // so that the problem above can be logged.
    expect(fromEnvironment('LOG_LEVEL', { LOG_LEVEL: 'debug' })).toBe('debug');
    expect(fromEnvironment('LOG_LEVEL', { LOG_LEVEL: 'verbose' })).toBe('info');
    expect(fromEnvironment('NODE_ENV', {})).toBe('development');
  });

  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'TRUE' }, false],
  ])('exports traces for %j: %p', (env, enabled) => {
    expect(loadConfig(env).tracing.enabled).toBe(enabled);
  });

  it('refuses an exporter it does not have', () => {
    expect(problemsOf({ OTEL_TRACES_EXPORTER: 'console' })).toContain(
      'OTEL_TRACES_EXPORTER: must be otlp or none; got "console"',
    );
  });
});

describe('the declarations', () => {
  it('are what src/ reads: no variable is read from the environment anywhere else', () => {
    const src = new URL('../src/', import.meta.url).pathname;
    const reads: string[] = [];
    for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
      const file = path.relative(src, path.join(entry.parentPath, entry.name));
      // The emulator is a test double with variables of its own (its --help lists them).
      if (!entry.isFile() || !file.endsWith('.ts') || /^(config|emulator)\//.test(file)) continue;
      readFileSync(path.join(src, file), 'utf8')
        .split('\n')
        .forEach((line) => {
          if (/^\s*(\*|\/\/)/.test(line)) return;
          // process.env, env.NAME or env[…], but not the file's ${env.NAME}.
          if (/process\.env|(?<!\$\{)\benv\.[A-Z_]|\benv\[/.test(line))
            reads.push(`${file}: ${line.trim()}`);
        });
    }
    // The entry point hands the environment to the configuration, and reads nothing itself.
    expect(reads).toEqual([
      'index.ts: const config = loadConfig(process.env, { warn: (message) => logger.warn(message) });',
    ]);
  });
});

describe('docs/configuration.md', () => {
  const file = new URL('../docs/configuration.md', import.meta.url).pathname;
  const page = readFileSync(file, 'utf8');

  it('is what `npm run docs` writes from the config module', async () => {
    const options = await prettier.resolveConfig(file);
    const expected = await prettier.format(configurationMarkdown(), { ...options, filepath: file });
    try {
      expect(page).toBe(expected);
    } catch (error) {
      throw new Error(
        'docs/configuration.md is not what src/config/index.ts describes: run `npm run docs`\n\n' +
          (error instanceof Error ? error.message : String(error)),
      );
    }
  });

  it('has a row, with a meaning, for every variable of the schema', () => {
    const variables = describeVariables();
    expect(variables.length).toBeGreaterThan(50);
    for (const { name, meaning } of variables) {
      expect(meaning.trim()).not.toBe('');
      expect(page).toMatch(new RegExp(`^\\| \`${name}\` +\\|`, 'm'));
    }
  });
});
