/**
 * The HTTP layer under attack and under audit: GraphQL-over-HTTP conformance (graphql-http's
 * audits), status codes a router can read, who may claim a client address, what is parsed
 * before a key is checked, deep JSON, JSON errors from every layer, /metrics exposure,
 * production error messages, and the response cache's key.
 */
import { once } from 'node:events';
import http from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import express from 'express';
import { serverAudits } from 'graphql-http';
import { createLogger } from '../src/logger.js';
import { typeDefs } from '../src/schema/index.js';
import { finalErrorHandler } from '../src/server/httpErrors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/server/requestShape.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { postGraphQL, startStack, type Stack } from './support/stack.js';

const GRAPHQL_RESPONSE_JSON = { accept: 'application/graphql-response+json' };
const DEEP = 40_000;
/** `[[[…]]]` nested `levels` deep, built as text (building it as a value is what we refuse). */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

type Body = { errors?: { message: string; extensions?: Record<string, unknown> }[] } & Record<
  string,
  unknown
>;
async function send(stack: Stack, init: RequestInit & { path?: string }) {
  const response = await fetch(`${stack.gateway.url}${init.path ?? '/graphql'}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: JSON.parse(text) as Body,
  };
}
const code = (body: Body) => body.errors?.[0]?.extensions?.code;

describe('GraphQL over HTTP (graphql-http audits)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('passes every audit with no warning or error; the notices are the ones docs/security.md explains', async () => {
    const results = [];
    for (const audit of serverAudits({ url: `${stack.gateway.url}/graphql` }))
      results.push(await audit.fn());
    const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
    for (const result of results) counts[result.status]++;
    const failing = results
      .filter((result) => result.status === 'warn' || result.status === 'error')
      .map((result) => `${result.id} ${result.name}`);
    expect(failing).toEqual([]);
    // GET requests without a preflight header are refused by CSRF prevention (docs/security.md).
    expect(
      results.filter((result) => result.status === 'notice').map((result) => result.id),
    ).toEqual(['5A70', 'D6D5', '6A70']);
    // The figures docs/security.md states.
    expect(counts).toEqual({ ok: 58, notice: 3, warn: 0, error: 0 });
  });

  it('tells a GET with nothing to run (`curl …/graphql`) how to ask, and the way it names works', async () => {
    // What curl sends: no query, `Accept: */*`, no preflight header (the CSRF check's business
    // only once there is an operation).
    const bare = await send(stack, { headers: { accept: '*/*' } });
    expect(bare.status).toBe(400);
    expect(bare.body.errors).toEqual([
      {
        message:
          'This GET has no operation to run. Put it in the URL, URL-encoded: /graphql?query=%7B__typename%7D (variables as &variables=<JSON>), with the header `apollo-require-preflight: true`; or POST it as JSON, {"query": "{ __typename }"}, with Content-Type: application/json. In a browser, this address opens the playground.',
        extensions: { code: 'BAD_REQUEST' },
      },
    ]);
    const asked = await send(stack, {
      path: '/graphql?query=%7B__typename%7D',
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(asked.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers GraphQL-level errors 200 to application/json and 4xx to application/graphql-response+json', async () => {
    const invalid = JSON.stringify({ query: '{ nope }' });
    const headers = { 'content-type': 'application/json' };
    const json = await send(stack, { method: 'POST', headers, body: invalid });
    expect([json.status, code(json.body)]).toEqual([200, 'GRAPHQL_VALIDATION_FAILED']);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const strict = await send(stack, {
      method: 'POST',
      headers: { ...headers, ...GRAPHQL_RESPONSE_JSON },
      body: invalid,
    });
    expect([strict.status, code(strict.body)]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(strict.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  });
});

describe('through a real @apollo/gateway', () => {
  let stack: Stack;
  let router: { url: string; stop: () => Promise<void> };
  beforeAll(async () => {
    stack = await startStack({
      env: { GATEWAY_MAX_DEPTH: '3', GATEWAY_RATE_PER_SECOND: '1', GATEWAY_RATE_BURST: '5' },
    });
    const composition = composeServices([
      { name: 'polyv', typeDefs, url: `${stack.gateway.url}/graphql` },
    ]);
    if (composition.errors) throw new Error(composition.errors.map(String).join('\n'));
    const server = new ApolloServer({
      gateway: new ApolloGateway({ supergraphSdl: composition.supergraphSdl }),
      stopOnTerminationSignals: false,
    });
    const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
    router = { url, stop: () => server.stop() };
  });
  afterAll(async () => {
    await router?.stop();
    await stack?.close();
  });

  it('delivers QUERY_LIMIT_EXCEEDED and RATE_LIMITED to the router’s client with their codes', async () => {
    const tooDeep = await postGraphQL(
      router.url,
      '{ channel(id: "2812610") { redPacks(first: 1) { nodes { receives { amount { fen } } } } } }',
    );
    expect(tooDeep.errors?.[0]?.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'depth',
    });

    // Five in the burst (one taken above), refilled at one a second: far fewer than 50 tries.
    const codes: unknown[] = [];
    for (let attempt = 0; attempt < 50 && !codes.includes('RATE_LIMITED'); attempt++) {
      const answer = await postGraphQL(router.url, '{ channel(id: "2812610") { id } }');
      codes.push(answer.errors?.[0]?.extensions?.code ?? 'ok');
    }
    expect(codes).toContain('RATE_LIMITED');
    expect(codes).not.toContain('INTERNAL_SERVER_ERROR');
  });
});

describe("a document's parse and validation, charged to its client", () => {
  /** Requests of `{ __typename }` answered before the first 429, after `first` was sent. */
  async function answeredAfter(first: string): Promise<number> {
    const stack = await startStack({
      env: {
        GATEWAY_RATE_PER_SECOND: '1',
        GATEWAY_RATE_BURST: '40',
        GATEWAY_MAX_DOCUMENT_BYTES: '600000',
        GATEWAY_MAX_BODY_BYTES: '700000',
      },
    });
    try {
      const post = (query: string, operationName?: string) =>
        send(stack, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...GRAPHQL_RESPONSE_JSON },
          body: JSON.stringify({ query, operationName }),
        });
      expect((await post(first, 'Q0')).status).toBe(200);
      let answered = 0;
      while ((await post('{ __typename }')).status !== 429) answered++;
      return answered;
    } finally {
      await stack.close();
    }
  }

  it('costs a heavy document tokens for its CPU time, a light one nothing beyond its request', async () => {
    // 20,000 operations: tens of milliseconds of parsing and validating, once.
    const heavy = Array.from({ length: 20_000 }, (_, index) => `query Q${index} { __typename }`);
    const afterLight = await answeredAfter('query Q0 { __typename }');
    const afterHeavy = await answeredAfter(heavy.join('\n'));
    // The light one: its own token and none for preparing (a token refills now and then).
    expect(afterLight).toBeGreaterThanOrEqual(38);
    // The heavy one: at least 5 ms of CPU a token, and it takes far more than 25 ms.
    expect(afterHeavy).toBeLessThan(afterLight - 5);
  });
});

describe('client addresses (GATEWAY_TRUST_PROXY)', () => {
  /** Statuses of `count` anonymous requests, each claiming a different X-Forwarded-For. */
  async function rotating(stack: Stack, count: number) {
    const statuses: number[] = [];
    for (let index = 0; index < count; index++) {
      const answer = await send(stack, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': `203.0.113.${index}`,
          ...GRAPHQL_RESPONSE_JSON,
        },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      statuses.push(answer.status);
    }
    return statuses;
  }
  const limits = { GATEWAY_RATE_PER_SECOND: '1', GATEWAY_RATE_BURST: '3' };

  it.each([
    ['off by default', {}],
    ['trusting a proxy that is not our peer', { GATEWAY_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }],
  ])('ignores X-Forwarded-For %s: rotating it does not escape the limit', async (_case, env) => {
    const stack = await startStack({ env: { ...limits, ...env } });
    try {
      // Three of six at least: the burst's three, and one more when preparing the document cost
      // its first sender a token (cold code on a busy machine). Honouring the header: none.
      expect(
        (await rotating(stack, 6)).filter((status) => status === 429).length,
      ).toBeGreaterThanOrEqual(3);
    } finally {
      await stack.close();
    }
  });

  it.each([
    ['a hop count', '1'],
    ['loopback by name', 'loopback'],
  ])('uses X-Forwarded-For when it comes from a trusted proxy (%s)', async (_case, trust) => {
    const stack = await startStack({ env: { ...limits, GATEWAY_TRUST_PROXY: trust } });
    try {
      expect(await rotating(stack, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      await stack.close();
    }
  });
});

describe('authentication before the body', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        GATEWAY_RATE_PER_SECOND: '1',
        GATEWAY_RATE_BURST: '3',
      },
    });
  });
  afterAll(() => stack.close());
  const notJson = (headers: Record<string, string>) =>
    send(stack, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: `{"query": ${'x'.repeat(90_000)}`,
    });

  it('answers a flood with a bad key 401 then 429, never parsing a body', async () => {
    const answers = [];
    for (let index = 0; index < 6; index++) answers.push(await notJson(bearer('wrong')));
    expect(answers.map((answer) => [answer.status, code(answer.body)])).toEqual([
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
    ]);
    expect(Number(answers[5]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // A valid key has its own bucket, and only then is the body read (and found wanting).
    const valid = await notJson(bearer(KEYS.finance));
    expect([valid.status, code(valid.body)]).toEqual([400, 'BAD_REQUEST']);
  });
});

describe('errors from every layer are JSON with a code', () => {
  let stack: Stack;
  beforeAll(async () => {
    // The response cache on: its key used to re-serialise the body, which is what overflowed.
    stack = await startStack({ env: { GATEWAY_CACHE: 'on' } });
  });
  afterAll(() => stack.close());
  const post = (body: string, contentType = 'application/json') =>
    send(stack, { method: 'POST', headers: { 'content-type': contentType }, body });
  const query = '{ __typename }';

  it.each([
    [
      `variables nested ${DEEP} levels`,
      () => post(`{"query":"${query}","variables":{"a":${nested(DEEP)}}}`),
      400,
    ],
    [
      `extensions nested ${DEEP} levels`,
      () => post(`{"query":"${query}","extensions":{"a":${nested(DEEP)}}}`),
      400,
    ],
    [
      `GET variables nested ${MAX_JSON_DEPTH + 1} levels`,
      () =>
        send(stack, {
          path: `/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(`{"a":${nested(MAX_JSON_DEPTH)}}`)}`,
          headers: { 'apollo-require-preflight': 'true' },
        }),
      400,
    ],
    ['a malformed JSON body', () => post('{"query": "{ __typename }"'), 400],
    ['an oversized body', () => post(JSON.stringify({ query, pad: 'x'.repeat(120_000) })), 413],
    ['a wrong content type', () => post(query, 'text/plain'), 415],
    ['an unknown path', () => send(stack, { path: '/nothing/here' }), 404],
    [
      'an unsupported method',
      () =>
        send(stack, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        }),
      405,
    ],
  ])('%s', async (_case, request, status) => {
    const linesBefore = stack.logs.length;
    const answer = await request();
    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(code(answer.body)).toBe('BAD_REQUEST');
    // Nothing in the log above info for a client's mistake.
    expect(stack.logs.slice(linesBefore).filter((line) => (line.level as number) >= 50)).toEqual(
      [],
    );
  });

  it('lets JSON nested to the bound through, and answers it', async () => {
    const answer = await post(
      `{"query":"${query}","variables":{"a":${nested(MAX_JSON_DEPTH - 2)}}}`,
    );
    expect([answer.status, answer.body]).toEqual([200, { data: { __typename: 'Query' } }]);
  });

  it('answers a bug in any express handler with INTERNAL_SERVER_ERROR, logged as one JSON line', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    });
    const app = express();
    app.get('/boom', () => {
      throw new Error('a bug\nwith a multi-line message');
    });
    app.use(finalErrorHandler(logger));
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const address = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${address.port}/boom`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({
        errors: [
          { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        ],
      });
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 50,
        msg: 'unexpected error',
        err: { message: 'a bug\nwith a multi-line message', stack: expect.any(String) },
      });
    } finally {
      server.close();
    }
  });
});

describe('the nesting scan', () => {
  it.each([
    ['flat', '{"a":1}', 1, false],
    ['at the bound', '[[1]]', 2, false],
    ['past the bound', '[[[1]]]', 2, true],
    ['brackets inside strings do not count', '["[[[[", "{{{{"]', 1, false],
    ['escaped quotes do not end a string', '["\\"[[[["]', 1, false],
    ['objects and arrays both count', '{"a":[{"b":[]}]}', 3, true],
    ['non-ASCII text', '{"名":["红包"]}', 2, false],
  ])('%s', (_case, json, max, deeper) => {
    expect(nestsDeeperThan(json, max)).toBe(deeper);
  });

  it('scans 40,000 levels without recursion', () => {
    expect(nestsDeeperThan(nested(DEEP), MAX_JSON_DEPTH)).toBe(true);
  });
});

describe('production', () => {
  let production: Stack;
  beforeAll(async () => {
    production = await startStack({ env: { NODE_ENV: 'production', GATEWAY_PLAYGROUND: '' } });
  });
  afterAll(() => production.close());

  it('gives no "Did you mean" hints (development does)', async () => {
    const typo = '{ chanel(id: "2812610") { id } }';
    const answer = await production.graphql(typo);
    expect(answer.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.errors?.[0]?.message).toBe('Cannot query field "chanel" on type "Query".');
    const development = await startStack({ env: { NODE_ENV: 'development' } });
    try {
      expect((await development.graphql(typo)).errors?.[0]?.message).toMatch(/Did you mean/);
    } finally {
      await development.close();
    }
  });

  it('does not serve /metrics on the main port without a token', async () => {
    expect(production.gateway.metricsUrl).toBeUndefined();
    const answer = await send(production, { path: '/metrics' });
    expect([answer.status, code(answer.body)]).toEqual([404, 'BAD_REQUEST']);
    expect(answer.text).not.toMatch(/gateway_/);
  });

  it('serves /metrics on the main port behind METRICS_TOKEN', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const stack = await startStack({ env: { NODE_ENV: 'production', METRICS_TOKEN: token } });
    try {
      const url = stack.gateway.metricsUrl!;
      expect(url).toBe(`${stack.gateway.url}/metrics`);
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${token}`]) {
        const refused = await fetch(url, { headers: authorization ? { authorization } : {} });
        expect(refused.status).toBe(401);
        expect(await refused.text()).not.toMatch(/gateway_/);
      }
      const allowed = await fetch(url, { headers: bearer(token) });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toMatch(/gateway_graphql_request_duration_seconds/);
    } finally {
      await stack.close();
    }
  });

  it('serves /metrics on METRICS_PORT, on loopback, and not on the main port', async () => {
    const stack = await startStack({ env: { NODE_ENV: 'production', METRICS_PORT: '0' } });
    try {
      const url = new URL(stack.gateway.metricsUrl!);
      expect(url.hostname).toBe('127.0.0.1');
      expect(url.port).not.toBe(new URL(stack.gateway.url).port);
      expect(await (await fetch(url)).text()).toMatch(/gateway_/);
      expect((await fetch(`${stack.gateway.url}/metrics`)).status).toBe(404);
    } finally {
      await stack.close();
    }
  });
});

describe('gateway_rate_limited_total', () => {
  it('counts every RATE_LIMITED answer, whatever its status', async () => {
    const stack = await startStack({
      env: { GATEWAY_RATE_PER_SECOND: '1', GATEWAY_RATE_BURST: '2' },
    });
    try {
      const statuses: number[] = [];
      for (const accept of ['application/json', 'application/graphql-response+json']) {
        for (let index = 0; index < 3; index++) {
          const answer = await send(stack, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept },
            body: JSON.stringify({ query: '{ __typename }' }),
          });
          if (code(answer.body) === 'RATE_LIMITED') statuses.push(answer.status);
        }
      }
      // Each RATE_LIMITED answer went out with 200 (application/json) or 429.
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(new Set(statuses)).toEqual(new Set([200, 429]));
      const metrics = await (await fetch(stack.gateway.metricsUrl!)).text();
      expect(metrics).toContain(`gateway_rate_limited_total{key="anonymous"} ${statuses.length}`);
    } finally {
      await stack.close();
    }
  });
});

describe('response cache and federated traces', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { GATEWAY_CACHE: 'on' } });
  });
  afterAll(() => stack.close());
  const ask = (trace: boolean) =>
    send(stack, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(trace ? { 'apollo-federation-include-trace': 'ftv1' } : {}),
      },
      body: JSON.stringify({ query: '{ channel(id: "2812610") { id } }' }),
    });

  it('never replays a traced answer to a request that did not ask for a trace, nor the reverse', async () => {
    const traced = await ask(true);
    expect(traced.body.extensions).toEqual({ ftv1: expect.any(String) });
    const plain = await ask(false);
    expect(plain.body).toEqual({ data: { channel: { id: '2812610' } } });
    // Both are cached, each under its own key.
    expect((await ask(false)).headers.get('cache-status')).toBe('polyv-graphql; hit');
    const tracedAgain = await ask(true);
    expect(tracedAgain.headers.get('cache-status')).toBe('polyv-graphql; hit');
    expect(tracedAgain.body.extensions).toEqual({ ftv1: expect.any(String) });
  });
});

describe('idle connections (GATEWAY_KEEP_ALIVE_TIMEOUT_S)', () => {
  /** One POST on the agent's connection: its status, Keep-Alive header and the socket it used. */
  const post = (url: string, agent: http.Agent) =>
    new Promise<{ status: number; keepAlive: string; socket: unknown }>((resolve, reject) => {
      const request = http.request(
        `${url}/graphql`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              keepAlive: String(response.headers['keep-alive']),
              socket: request.socket,
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ query: '{ __typename }' }));
    });

  it("keeps an idle connection past Node's 5 s, for the pools in front of it (75 s by default)", async () => {
    const stack = await startStack();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await post(stack.gateway.url, agent);
      expect(first).toMatchObject({ status: 200, keepAlive: 'timeout=75' });
      // Node's own timeout would have closed it by now: the second request would need another.
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      const second = await post(stack.gateway.url, agent);
      expect(second.status).toBe(200);
      expect(second.socket).toBe(first.socket);
    } finally {
      agent.destroy();
      await stack.close();
    }
  }, 30_000);

  it('says its own timeout when set', async () => {
    const stack = await startStack({ env: { GATEWAY_KEEP_ALIVE_TIMEOUT_S: '7' } });
    const agent = new http.Agent({ keepAlive: true });
    try {
      expect(await post(stack.gateway.url, agent)).toMatchObject({
        status: 200,
        keepAlive: 'timeout=7',
      });
    } finally {
      agent.destroy();
      await stack.close();
    }
  });
});
