/**
 * Configuration: defaults, safe auth defaults, production defaults, messages that name the
 * variable, and docs/configuration.md as the config module describes every variable.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { hashApiKey } from '../src/auth/apiKeys.js';
import * as prettier from 'prettier';
import { ConfigError, describeVariables, loadConfig } from '../src/config/index.js';
import { configurationMarkdown } from '../src/tools/configDocs.js';

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
        ttlMs: { redPackStatistics: 30_000, incomeDetail: 60_000 },
        maxBytes: 64 * 1024 * 1024,
      },
      redis: undefined,
      replicas: 1,
      // Loopback: a gateway started on a laptop is not on the network unless HOST says so.
      server: { port: 4000, host: '127.0.0.1', shutdownGraceMs: 10_000 },
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
      /GATEWAY_COMPILED_EXECUTION: /,
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

describe('docs/configuration.md', () => {
  const file = new URL('../docs/configuration.md', import.meta.url).pathname;
  const page = readFileSync(file, 'utf8');

  it('is what `npm run docs:config` writes from the config module', async () => {
    const options = await prettier.resolveConfig(file);
    const expected = await prettier.format(configurationMarkdown(), { ...options, filepath: file });
    try {
      expect(page).toBe(expected);
    } catch (error) {
      throw new Error(
        'docs/configuration.md is not what src/config/index.ts describes: run `npm run docs:config`\n\n' +
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
