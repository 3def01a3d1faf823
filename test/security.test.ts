/** Who may ask and how much: API keys, channel grants, per-key rate limits, query limits, HTTP hygiene. */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Client, fetchExchange } from '@urql/core';
import { WebSocket } from 'ws';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() } });
});
afterAll(async () => {
  // Every log line of this suite (auth failures included) is free of keys, the secret and signatures.
  expectNoLeaks(JSON.stringify(stack.logs), secretsOf(stack.emulator, Object.values(KEYS)));
  await stack.close();
});
beforeEach(() => stack.emulator.resetCounters());

const RED_PACKS = (channel: string) =>
  `{ channel(id: "${channel}") { redPacks(first: 2) { totalCount } } }`;
const ACCOUNT_INCOME = `{ incomeRecords(startDate: "2026-10-01", endDate: "2026-10-02", first: 1) { totalCount } }`;

describe('API keys', () => {
  it.each([
    [
      'no key',
      {},
      /^An API key is required: send it as "Authorization: Bearer <key>" or "x-api-key: <key>"\.$/,
    ],
    ['a wrong Bearer key', bearer('not-a-key'), /not valid/],
    ['a wrong x-api-key', { 'x-api-key': 'nope' }, /not valid/],
    [
      'a key in another scheme',
      { authorization: `Basic ${KEYS.finance}` },
      /^The Authorization header is not in the form "Authorization: Bearer <key>": send it as "Authorization: Bearer <key>" or "x-api-key: <key>"\.$/,
    ],
    [
      'a key without "Bearer"',
      { authorization: KEYS.finance },
      /^The Authorization header is not in the form "Authorization: Bearer <key>": send it as "Authorization: Bearer <key>" or "x-api-key: <key>"\.$/,
    ],
  ])(
    'answers %s with 401 UNAUTHENTICATED and no upstream call',
    async (_case, headers, message) => {
      const response = await stack.graphql(RED_PACKS('2812610'), undefined, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="polyv-graphql"');
      expect(response.errors).toEqual([
        { message: expect.stringMatching(message), extensions: { code: 'UNAUTHENTICATED' } },
      ]);
      expect(stack.emulator.calls).toHaveLength(0);
    },
  );

  it('tells a keyed GET with nothing to run how to ask (no preflight header needed with keys)', async () => {
    const response = await fetch(`${stack.gateway.url}/graphql`, { headers: bearer(KEYS.finance) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [
        {
          message:
            'This GET has no operation to run. Put it in the URL, URL-encoded: /graphql?query=%7B__typename%7D (variables as &variables=<JSON>); or POST it as JSON, {"query": "{ __typename }"}, with Content-Type: application/json. In a browser, this address opens the playground.',
          extensions: { code: 'BAD_REQUEST' },
        },
      ],
    });
  });

  it('accepts a key as Bearer or as x-api-key', async () => {
    for (const headers of [bearer(KEYS.finance), { 'x-api-key': KEYS.finance }]) {
      const response = await stack.graphql(RED_PACKS('2812612'), undefined, headers);
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ channel: { redPacks: { totalCount: 40 } } });
    }
  });

  it('gives a channel-limited key its channel and FORBIDDEN for any other, before any upstream call', async () => {
    const allowed = await stack.graphql(RED_PACKS('2812610'), undefined, bearer(KEYS.ops));
    expect(allowed.data).toEqual({ channel: { redPacks: { totalCount: 3500 } } });
    stack.emulator.resetCounters();

    const other = await stack.graphql(RED_PACKS('2812611'), undefined, bearer(KEYS.ops));
    expect(other.data).toEqual({ channel: null });
    expect(other.errors).toEqual([
      expect.objectContaining({
        message: 'The API key "ops-dashboard" may not read channel 2812611.',
        path: ['channel'],
        extensions: { code: 'FORBIDDEN' },
      }),
    ]);
    expect(stack.emulator.calls).toHaveLength(0);
  });

  // Twice each: the first run is interpreted by graphql-js, the second compiled (executor.ts).
  it.each([
    [
      'channel(id:) with only its id',
      '{ channel(id: "2812611") { id } }',
      undefined,
      { channel: null },
      ['channel'],
    ],
    [
      'channels(ids:), the other channel only',
      '{ channels(ids: ["2812610", "2812611"]) { id } }',
      undefined,
      { channels: [{ id: '2812610' }, null] },
      ['channels', 1],
    ],
    [
      'a federated representation, only its id selected',
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Channel { id } } }',
      {
        r: [
          { __typename: 'Channel', id: '2812610' },
          { __typename: 'Channel', id: '2812611' },
        ],
      },
      { _entities: [{ id: '2812610' }, null] },
      ['_entities', 1],
    ],
  ])(
    "refuses a channel-limited key another channel's { id } through %s: FORBIDDEN, not data",
    async (_case, query, variables, data, path) => {
      for (const run of ['interpreted', 'compiled']) {
        const response = await stack.graphql(query, variables, bearer(KEYS.ops));
        expect([run, response.status, response.data]).toEqual([run, 200, data]);
        expect(response.errors).toEqual([
          expect.objectContaining({
            message: 'The API key "ops-dashboard" may not read channel 2812611.',
            path,
            extensions: { code: 'FORBIDDEN' },
          }),
        ]);
        // A refused answer is never stored for replay.
        expect(response.headers.get('cache-control')).toBe('no-store');
      }
      expect(stack.emulator.calls).toHaveLength(0);
    },
  );

  it('keeps account-level income to keys allowed the whole account', async () => {
    const limited = await stack.graphql(ACCOUNT_INCOME, undefined, bearer(KEYS.ops));
    expect(limited.errors![0]!.extensions).toEqual({ code: 'FORBIDDEN' });
    expect(limited.errors![0]!.message).toMatch(/not the whole account's income: pass channelId/);
    expect(stack.emulator.calls).toHaveLength(0);

    const ownChannel = await stack.graphql(
      `{ incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", channelId: "2812610", first: 1) { totalCount }
         channel(id: "2812610") { incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 1) { totalCount } } }`,
      undefined,
      bearer(KEYS.ops),
    );
    expect(ownChannel.errors).toBeUndefined();

    const whole = await stack.graphql(ACCOUNT_INCOME, undefined, bearer(KEYS.finance));
    expect(whole.errors).toBeUndefined();
  });

  it('fails only the field a key may not read: the rest of the answer stands', async () => {
    const response = await stack.graphql(
      `{ channel(id: "2812610") { id }
         incomeRecords(startDate: "2026-10-01", endDate: "2026-10-02", first: 1) { totalCount } }`,
      undefined,
      bearer(KEYS.ops),
    );
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ channel: { id: '2812610' }, incomeRecords: null });
    expect(response.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/not the whole account's income: pass channelId/),
        path: ['incomeRecords'],
        extensions: { code: 'FORBIDDEN' },
      }),
    ]);
    expect(stack.emulator.calls).toHaveLength(0);
  });

  it('applies the same grants to federated entity requests', async () => {
    const response = await stack.graphql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Channel { id redPacks(first: 1) { totalCount } } } }`,
      {
        r: [
          { __typename: 'Channel', id: '2812610' },
          { __typename: 'Channel', id: '2812611' },
        ],
      },
      bearer(KEYS.ops),
    );
    expect(response.data).toEqual({
      _entities: [{ id: '2812610', redPacks: { totalCount: 3500 } }, null],
    });
    expect(response.errors!.map((error) => error.extensions!.code)).toEqual(['FORBIDDEN']);
    expect(stack.emulator.calls).toHaveLength(1);
  });
});

describe('per-key rate limits', () => {
  let limited: Stack;
  beforeAll(async () => {
    limited = await startStack({
      env: {
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        GATEWAY_RATE_PER_SECOND: '1',
        GATEWAY_RATE_BURST: '3',
      },
    });
  });
  afterAll(() => limited.close());

  it('answers past the bucket with 429, Retry-After and RATE_LIMITED, per key', async () => {
    // application/graphql-response+json gets the 429; application/json gets 200 (http.test.ts).
    const strict = { ...bearer(KEYS.ops), accept: 'application/graphql-response+json' };
    const statuses: number[] = [];
    for (let index = 0; index < 4; index++) {
      statuses.push((await limited.graphql('{ __typename }', undefined, strict)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await limited.graphql('{ __typename }', undefined, strict);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.errors).toEqual([
      {
        message: expect.stringMatching(/Too many requests for ops-dashboard; retry in \d+ s/),
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) },
      },
    ]);
    // Another key has its own bucket.
    expect((await limited.graphql('{ __typename }', undefined, bearer(KEYS.finance))).status).toBe(
      200,
    );
  });
});

describe('query limits (checked before execution)', () => {
  // Asking for application/graphql-response+json: limit errors keep their 400 (to
  // application/json they answer 200, as GraphQL over HTTP says; see http.test.ts).
  const authed = (query: string, variables?: Record<string, unknown>) =>
    stack.graphql(query, variables, {
      ...bearer(KEYS.finance),
      accept: 'application/graphql-response+json',
    });
  const nested = (levels: number) => {
    let selection = 'id';
    for (let level = 0; level < levels; level++)
      selection = `redPacks(first: 1) { nodes { channel { ${selection} } } }`;
    return `{ channel(id: "2812612") { ${selection} } }`;
  };

  it.each([
    ['depth', nested(4), /levels deep; the limit is 12/],
    [
      'aliases',
      `{ channel(id: "1") { ${Array.from({ length: 31 }, (_, index) => `a${index}: id`).join(' ')} } }`,
      /31 aliases; the limit is 30/,
    ],
    [
      'rootFields',
      `{ ${Array.from({ length: 21 }, (_, index) => `c${index}: channel(id: "${index}") { id }`).join(' ')} }`,
      /21 root fields; the limit is 20/,
    ],
    [
      'cost',
      // Two pages of 1,000 (within the record budget), each red pack with its receives' fields.
      `{ channels(ids: ["2812610", "2812611"]) { redPacks(first: 1000) { nodes { id receives { user { openId nickname avatarUrl } amount { amount fen currency } receivedAt } } } } }`,
      /estimated cost; the limit is 200000 \(page sizes multiply/,
    ],
  ])(
    'rejects a query over the %s limit with QUERY_LIMIT_EXCEEDED and no upstream call',
    async (limit, query, message) => {
      const response = await authed(query);
      expect(response.status).toBe(400);
      expect(response.errors).toEqual([
        {
          message: expect.stringMatching(message),
          extensions: {
            code: 'QUERY_LIMIT_EXCEEDED',
            limit,
            max: expect.any(Number),
            actual: expect.any(Number),
          },
        },
      ]);
      expect(stack.emulator.calls).toHaveLength(0);
    },
  );

  it('rejects a query that would use up the upstream budget (connections under lists count each time)', async () => {
    const ids = Array.from({ length: 150 }, (_, index) => `"${2812610 + index}"`).join(',');
    const response = await authed(
      `{ channels(ids: [${ids}]) { redPacks(first: 0) { totalCount } again: redPacks(first: 1) { totalCount } } }`,
    );
    expect(response.status).toBe(400);
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'upstreamCalls',
      max: 200,
      actual: 300,
    });
    expect(stack.emulator.calls).toHaveLength(0);
  });

  it('answers an over-long GET document with the document limit, not an empty 431', async () => {
    const query = encodeURIComponent(`{ __typename } # ${'x'.repeat(25_000)}`);
    const response = await fetch(`${stack.gateway.url}/graphql?query=${query}`, {
      headers: {
        ...bearer(KEYS.finance),
        'apollo-require-preflight': '1',
        accept: 'application/graphql-response+json',
      },
    });
    expect(response.status).toBe(400);
    expect(
      ((await response.json()) as { errors: { extensions: { limit: string } }[] }).errors[0]!
        .extensions.limit,
    ).toBe('documentSize');
  });

  it('rejects a document over the size limit before parsing it', async () => {
    const query = `{ __typename } # ${'x'.repeat(20_000)}`;
    const response = await authed(query);
    expect(response.status).toBe(400);
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'documentSize',
      max: 20_000,
    });
  });

  it('counts variables: first: $n multiplies the cost', async () => {
    // Two channels at first: 1000, each red pack with its receives' fields: over 200,000.
    const query = `query($n: Int) { channels(ids: ["2812610","2812611"]) { redPacks(first: $n) { nodes { receives { user { openId nickname avatarUrl } amount { amount fen currency } receivedAt } } } } }`;
    expect((await authed(query, { n: 5 })).errors).toBeUndefined();
    expect((await authed(query, { n: 1000 })).errors![0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'cost',
    });
  });

  it('lets a full dashboard query through', async () => {
    const response = await authed(`query Dashboard {
      channel(id: "2812610") {
        redPacks(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
          id type typeLabel status statusLabel allotType createdAt sessionId receiveCount
          sender { openId nickname } amount { amount fen currency } balance { amount fen }
          receives { redPackId user { openId nickname avatarUrl } amount { amount fen } receivedAt } } } }
        incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 100) { totalCount nodes {
          id payType payTypeLabel amount { amount fen } giftCount payer { nickname } paidAt channel { id } } }
      }
    }`);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
  });

  it('does not count introspection, so GraphiQL can load the schema', async () => {
    const { getIntrospectionQuery } = await import('graphql');
    const response = await authed(getIntrospectionQuery());
    expect(response.errors).toBeUndefined();
  });
});

describe('HTTP hygiene', () => {
  const post = (
    body: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) =>
    fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { ...bearer(KEYS.finance), ...headers },
      body,
    });

  it.each([
    [
      'a body over the size limit',
      () => post(JSON.stringify({ query: `{ __typename } #${'x'.repeat(120_000)}` })),
      413,
      'BAD_REQUEST',
    ],
    ['a body that is not JSON', () => post('{"query": '), 400, 'BAD_REQUEST'],
    [
      'a body of the wrong type',
      () => post('query=%7B__typename%7D', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'BAD_REQUEST',
    ],
    [
      'a batch',
      () => post(JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }])),
      400,
      'BAD_REQUEST',
    ],
    ['a body without a query', () => post(JSON.stringify({ variables: {} })), 400, 'BAD_REQUEST'],
  ])('answers %s with a GraphQL error', async (_case, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe(code);
  });

  it("answers a plain GET that carries its key (urql's default client), and refuses one without", async () => {
    // With keys on, CSRF prevention adds nothing: a cross-site page cannot make a browser send
    // the key header without a preflight, and a request without it is refused.
    const url = `${stack.gateway.url}/graphql?query=${encodeURIComponent('{ channel(id: "2812614") { id } }')}`;
    const keyed = await fetch(url, { headers: bearer(KEYS.finance) });
    expect([keyed.status, await keyed.json()]).toEqual([
      200,
      { data: { channel: { id: '2812614' } } },
    ]);
    const forged = await fetch(url);
    expect(forged.status).toBe(401);
    expect(await forged.text()).not.toMatch(/2812614/);
  });
});

describe("urql's default client, with API keys on", () => {
  it('queries with its defaults (GET within the URL limit, no preflight header) and gets data', async () => {
    const methods: string[] = [];
    const client = new Client({
      url: `${stack.gateway.url}/graphql`,
      exchanges: [fetchExchange],
      fetchOptions: { headers: bearer(KEYS.finance) },
      // Only to see which method urql chose; the request is urql's own.
      fetch: (input, init) => {
        methods.push(init?.method ?? 'GET');
        return fetch(input, init);
      },
    });
    const result = await client
      .query('query One($id: ID!) { channel(id: $id) { id redPacks { totalCount } } }', {
        id: '2812614',
      })
      .toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual({ channel: { id: '2812614', redPacks: { totalCount: 5 } } });
    expect(methods).toEqual(['GET']);
  });
});

describe('with API keys off', () => {
  it("keeps Apollo's CSRF prevention on: a simple GET without a preflight header is refused", async () => {
    const open = await startStack();
    try {
      const url = `${open.gateway.url}/graphql?query=${encodeURIComponent('{ __typename }')}`;
      const simple = await fetch(url);
      expect(simple.status).toBe(400);
      expect(await simple.text()).toMatch(/CSRF/);
      const preflighted = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
      expect(await preflighted.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await open.close();
    }
  });
});

describe('production defaults', () => {
  let production: Stack;
  beforeAll(async () => {
    production = await startStack({ env: { NODE_ENV: 'production', GATEWAY_PLAYGROUND: '' } });
  });
  afterAll(() => production.close());

  it('turns introspection off but keeps federation working', async () => {
    const introspection = await production.graphql('{ __schema { types { name } } }');
    expect(introspection.errors![0]!.extensions).toMatchObject({
      code: 'GRAPHQL_VALIDATION_FAILED',
    });
    expect(introspection.errors![0]!.message).toMatch(/introspection/i);
    const service = await production.graphql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(service.data!._service.sdl).toContain('type Query');
  });

  it('sends no CORS headers to browsers by default', async () => {
    const response = await fetch(`${production.gateway.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves no playground', async () => {
    const response = await fetch(`${production.gateway.url}/graphql`, {
      headers: { accept: 'text/html' },
    });
    expect(response.headers.get('content-type')).not.toMatch(/html/);
  });

  it('allows configured origins only', async () => {
    const configured = await startStack({
      env: { NODE_ENV: 'production', GATEWAY_CORS_ORIGINS: 'https://dash.example' },
    });
    try {
      const preflight = (origin: string) =>
        fetch(`${configured.gateway.url}/graphql`, {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST' },
        });
      expect(
        (await preflight('https://dash.example')).headers.get('access-control-allow-origin'),
      ).toBe('https://dash.example');
      expect(
        (await preflight('https://evil.example')).headers.get('access-control-allow-origin'),
      ).toBeNull();
    } finally {
      await configured.close();
    }
  });
});

describe('development defaults', () => {
  // What `npm start` does on a laptop: nothing set but the emulator.
  let development: Stack;
  beforeAll(async () => {
    // An empty variable is an unset one: HOST and the origins take their defaults.
    development = await startStack({
      env: { NODE_ENV: 'development', HOST: '', GATEWAY_CORS_ORIGINS: '' },
    });
  });
  afterAll(() => development.close());

  it('listens on loopback only', () => {
    const address = development.gateway.httpServer.address() as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
  });

  it('lets no other site call it from a browser', async () => {
    const preflight = await fetch(`${development.gateway.url}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${development.gateway.url}/graphql`, {
      method: 'POST',
      headers: { origin: 'http://localhost:3000', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("refuses a WebSocket from another site's page, and serves one with no Origin (not a browser)", async () => {
    const url = `${development.gateway.url.replace(/^http/, 'ws')}/graphql`;
    const foreign = new WebSocket(url, 'graphql-transport-ws', { origin: 'https://evil.example' });
    const [refusal] = (await once(foreign, 'error')) as [Error];
    expect(refusal.message).toBe('Unexpected server response: 403');

    const tool = new WebSocket(url, 'graphql-transport-ws');
    await once(tool, 'open');
    tool.send(JSON.stringify({ type: 'connection_init' }));
    const [message] = (await once(tool, 'message')) as [Buffer];
    expect(JSON.parse(message.toString())).toEqual({ type: 'connection_ack' });
    tool.close();
    await once(tool, 'close');
  });
});
