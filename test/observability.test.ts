/**
 * What operators see: Prometheus counters after a known sequence of queries and faults, the
 * span tree (continuing an incoming traceparent), the per-request log line and its redaction,
 * and readiness.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { startStack, type Stack } from './support/stack.js';

// A tracer provider for this test file, exporting to memory (the gateway only uses the API).
const spans = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register();

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      GATEWAY_AUTH: 'on',
      GATEWAY_API_KEYS_FILE: writeKeysFile(),
      GATEWAY_CACHE: 'on',
      POLYV_RETRIES: '1',
      POLYV_BREAKER_VOLUME: '100000',
    },
  });
});
afterAll(() => stack.close());
beforeEach(() => {
  spans.reset();
  stack.emulator.clearFaults();
});

const scrape = async () => (await fetch(stack.gateway.metricsUrl!)).text();
/** The value of one series in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0] ?? '';
    if (wanted.every((pair) => labelText.includes(pair))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('metrics at /metrics', () => {
  it('count a known sequence of queries and faults', async () => {
    const before = await scrape();
    const ask = (query: string) => stack.graphql(query, undefined, bearer(KEYS.finance));
    await ask('query Screen { channel(id: "2812612") { redPacks(first: 4) { totalCount } } }'); // miss
    await ask('query Screen2 { channel(id: "2812612") { redPacks(first: 4) { totalCount } } }'); // page hit
    stack.emulator.injectFaults('http503', 1);
    await ask('query Retried { channel(id: "2812614") { redPacks(first: 2) { totalCount } } }'); // 1 retry
    await ask('query Refused { channel(id: "99999") { redPacks(first: 2) { totalCount } } }'); // UPSTREAM_ERROR
    await stack.graphql('{ __typename }'); // UNAUTHENTICATED
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(delta('gateway_graphql_request_duration_seconds_count', { operation: 'Screen' })).toBe(
      1,
    );
    expect(delta('gateway_graphql_request_duration_seconds_count', { operation: 'Retried' })).toBe(
      1,
    );
    expect(delta('gateway_graphql_errors_total', { code: 'UPSTREAM_ERROR' })).toBe(1);
    expect(delta('gateway_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(delta('gateway_cache_hits_total', { endpoint: 'redPackStatistics' })).toBe(1);
    expect(delta('gateway_cache_misses_total', { endpoint: 'redPackStatistics' })).toBe(3);
    expect(delta('gateway_polyv_retries_total', { endpoint: 'redPackStatistics' })).toBe(1);
    expect(
      delta('gateway_polyv_request_duration_seconds_count', {
        endpoint: 'redPackStatistics',
        outcome: 'HTTP_5XX',
      }),
    ).toBe(1);
    expect(
      delta('gateway_polyv_request_duration_seconds_count', {
        endpoint: 'redPackStatistics',
        outcome: 'ok',
      }),
    ).toBe(2);
    expect(
      delta('gateway_polyv_request_duration_seconds_count', {
        endpoint: 'redPackStatistics',
        outcome: 'UPSTREAM_ERROR',
      }),
    ).toBe(1);
    expect(sample(after, 'gateway_polyv_circuit_state')).toBe(0);
    expect(sample(after, 'gateway_polyv_queue_depth')).toBe(0);
    expect(after).toMatch(/^process_cpu_seconds_total /m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('keep operation names bounded', async () => {
    for (let index = 0; index < 60; index++)
      await stack.graphql(`query Op${index} { __typename }`, undefined, bearer(KEYS.finance));
    const text = await scrape();
    const operations = new Set(
      [
        ...text.matchAll(/gateway_graphql_request_duration_seconds_count\{operation="([^"]+)"/g),
      ].map((match) => match[1]),
    );
    // At most 50 names, plus "other" and "anonymous".
    expect(operations.size).toBeLessThanOrEqual(52);
    expect(operations.has('other')).toBe(true);
  });
});

describe('traces', () => {
  it('continue the incoming trace: a server span per request with a client span per Polyv call', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await stack.graphql(
      'query Traced { channel(id: "2812611") { redPacks(first: 3) { totalCount } incomeRecords(startDate: "2026-10-01", endDate: "2026-10-02", first: 1) { totalCount } } }',
      undefined,
      {
        ...bearer(KEYS.finance),
        traceparent: `00-${traceId}-${parentId}-01`,
        'cache-control': 'no-cache',
      },
    );
    const finished = spans.getFinishedSpans();
    const server = finished.find((span) => span.name === 'graphql Traced');
    expect(server).toBeDefined();
    expect(server!.spanContext().traceId).toBe(traceId);
    expect(server!.parentSpanContext?.spanId).toBe(parentId);
    expect(server!.attributes).toMatchObject({
      'graphql.operation.name': 'Traced',
      'gateway.api_key': 'finance',
      'gateway.upstream_calls': 2,
    });

    const upstream = finished.filter((span) => span.name.startsWith('polyv '));
    expect(upstream.map((span) => span.name).sort()).toEqual([
      'polyv incomeDetail',
      'polyv redPackStatistics',
    ]);
    for (const span of upstream) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
      expect(span.attributes).toMatchObject({ 'polyv.page': 1, 'gateway.cache_hit': false });
    }
    expect(
      upstream.find((span) => span.name === 'polyv redPackStatistics')!.attributes[
        'polyv.request_id'
      ],
    ).toEqual(expect.any(String));
  });
});

describe('logs', () => {
  it('write one line per request with its fields, honouring x-request-id', async () => {
    const response = await stack.graphql(
      'query Logged { channel(id: "2812612") { redPacks(first: 5) { totalCount } } }',
      undefined,
      {
        ...bearer(KEYS.ops.replace('ops', 'wrong')),
        'x-request-id': 'dash-42.refresh',
      },
    );
    expect(response.headers.get('x-request-id')).toBe('dash-42.refresh');
    const ok = await stack.graphql(
      'query Logged { channel(id: "2812610") { redPacks(first: 5) { totalCount } } }',
      undefined,
      {
        ...bearer(KEYS.ops),
        'cache-control': 'no-cache',
      },
    );
    const generated = ok.headers.get('x-request-id')!;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    const lines = stack.logs.filter((line) => line.msg === 'graphql request');
    expect(lines.find((line) => line.requestId === 'dash-42.refresh')).toMatchObject({
      level: 30,
      status: 401,
      apiKey: 'anonymous',
      errorCodes: ['UNAUTHENTICATED'],
    });
    expect(lines.find((line) => line.requestId === generated)).toMatchObject({
      operation: 'Logged',
      apiKey: 'ops-dashboard',
      status: 200,
      upstreamCalls: 1,
      cacheHits: 0,
      errorCodes: [],
      durationMs: expect.any(Number),
    });
  });

  it('write a debug line per upstream call', () => {
    const calls = stack.logs.filter((line) => line.msg === 'polyv call');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)).toMatchObject({
      level: 20,
      endpoint: 'redPackStatistics',
      page: 1,
      attempt: 1,
      outcome: 'ok',
      durationMs: expect.any(Number),
      requestId: expect.any(String),
    });
  });

  it('never contain the app secret, a signature or an API key', () => {
    expectNoLeaks(JSON.stringify(stack.logs), secretsOf(stack.emulator, Object.values(KEYS)));
  });
});

describe('health', () => {
  it('is live and ready, and not ready while the circuit is open', async () => {
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${stack.gateway.url}/readyz`)).json()).toEqual({ status: 'ready' });

    const tripped = await startStack({
      env: { POLYV_RETRIES: '0', POLYV_BREAKER_VOLUME: '2', POLYV_BREAKER_RESET_MS: '60000' },
    });
    try {
      tripped.emulator.injectFaults('http503', 5);
      for (const first of [1, 2])
        await tripped.graphql(
          `{ channel(id: "2812612") { redPacks(first: ${first}) { totalCount } } }`,
        );
      const response = await fetch(`${tripped.gateway.url}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'not ready',
        reasons: ['the upstream circuit is open: Polyv keeps failing'],
      });
      expect(
        sample(
          await (await fetch(tripped.gateway.metricsUrl!)).text(),
          'gateway_polyv_circuit_state',
        ),
      ).toBe(2);
    } finally {
      await tripped.close();
    }
  });

  it('is not ready when Redis is configured but unreachable', async () => {
    const lonely = await startStack({
      env: { REDIS_URL: 'redis://127.0.0.1:1', GATEWAY_CACHE: 'on' },
    });
    try {
      const response = await fetch(`${lonely.gateway.url}/readyz`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { reasons: string[] }).reasons).toContain(
        'Redis is configured but unreachable',
      );
      // ...while requests still succeed on in-process state.
      expect(
        (await lonely.graphql('{ channel(id: "2812614") { redPacks { totalCount } } }')).data,
      ).toEqual({ channel: { redPacks: { totalCount: 5 } } });
      expect(
        sample(await (await fetch(lonely.gateway.metricsUrl!)).text(), 'gateway_redis_up'),
      ).toBe(0);
    } finally {
      await lonely.close();
    }
  });
});
