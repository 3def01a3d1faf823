/**
 * Federation v2, proven end to end: our SDL composes with another subgraph, and a real
 * @apollo/gateway in front of both answers queries that need both, with exact data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse, type DirectiveNode } from 'graphql';
import { typeDefs } from '../src/schema/index.js';
import { catalogTypeDefs, startCatalogSubgraph } from './support/catalogSubgraph.js';
import { postGraphQL, startStack, type Stack } from './support/stack.js';

let stack: Stack;
let catalog: Awaited<ReturnType<typeof startCatalogSubgraph>>;
let router: { url: string; stop: () => Promise<void> };

function compose(
  polyvUrl = 'http://polyv.invalid/graphql',
  catalogUrl = 'http://catalog.invalid/graphql',
) {
  return composeServices([
    { name: 'polyv', typeDefs, url: polyvUrl },
    { name: 'catalog', typeDefs: catalogTypeDefs, url: catalogUrl },
  ]);
}

beforeAll(async () => {
  stack = await startStack({ env: { POLYV_MAX_CONCURRENCY: '10' } });
  catalog = await startCatalogSubgraph();
  const composition = compose(`${stack.gateway.url}/graphql`, catalog.url);
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
  await catalog?.stop();
  await stack?.close();
});
beforeEach(() => {
  stack.emulator.resetCounters();
  stack.emulator.setLatency(0);
});

describe('composition', () => {
  it('composes with another subgraph with no errors and no hints', () => {
    const result = compose();
    expect(result.errors).toBeUndefined();
    // Hints we accept would be listed here by code; today there are none.
    expect((result.hints ?? []).map((hint) => `${hint.definition.code}: ${hint.message}`)).toEqual(
      [],
    );
  });

  it("composes the SDL that docs/federation.md's `npm run --silent sdl | rover ...` pipes, and nothing else", () => {
    // The command exactly as documented: whatever it writes on stdout goes to rover, so a
    // banner or a log line there would break the pipe.
    const page = readFileSync(new URL('../docs/federation.md', import.meta.url), 'utf8');
    const documented = /^(npm run --silent sdl) \| rover subgraph publish /m.exec(page)?.[1];
    expect(documented).toBe('npm run --silent sdl');
    const printed = execFileSync('npm', ['run', '--silent', 'sdl'], {
      cwd: new URL('..', import.meta.url).pathname,
      encoding: 'utf8',
    });
    // Nothing but SDL: it parses as a whole, from its first character.
    expect(printed.startsWith('extend schema\n')).toBe(true);
    const document = parse(printed);
    const named = document.definitions.flatMap((definition) =>
      'name' in definition && definition.name ? [definition.name.value] : [],
    );
    expect(named).toEqual(expect.arrayContaining(['Query', 'Channel', 'RedPack', 'Money']));
    const result = composeServices([
      { name: 'polyv', typeDefs: document, url: 'http://polyv.invalid/graphql' },
      { name: 'catalog', typeDefs: catalogTypeDefs, url: 'http://catalog.invalid/graphql' },
    ]);
    expect(result.errors).toBeUndefined();
    expect(printed).toMatch(/type Channel\s+@key\(fields: "id"\)/);
  });

  it('serves from _service the same SDL plus the federation definitions it implies', async () => {
    const printed = execFileSync(
      process.execPath,
      [new URL('../dist/src/tools/print-sdl.js', import.meta.url).pathname],
      { encoding: 'utf8' },
    );
    const response = await stack.graphql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const served = response.data!._service.sdl;
    const names = (sdl: string) =>
      new Set(
        parse(sdl).definitions.flatMap((definition) =>
          'name' in definition && definition.name ? [definition.name.value] : [],
        ),
      );
    const ours = names(printed);
    const added = [...names(served)].filter((name) => !ours.has(name));
    // Everything `npm run sdl` prints is served too; what _service adds is federation's own.
    expect([...ours].filter((name) => !names(served).has(name))).toEqual([]);
    expect(added).toEqual(expect.arrayContaining(['link', 'key', 'federation__FieldSet']));
    expect(
      added.filter(
        (name) =>
          !/^(link|key|shareable|cost|listSize|_Any|_Entity|_Service|federation__\w+|link__\w+)$/.test(
            name,
          ),
      ),
    ).toEqual([]);
  });

  it('exposes exactly the entities the subgraphs declare, with their keys', () => {
    const result = compose();
    if (result.errors) throw new Error('composition failed');
    const keys: Record<string, string[]> = {};
    for (const definition of parse(result.supergraphSdl).definitions) {
      if (definition.kind !== 'ObjectTypeDefinition') continue;
      for (const args of directiveArguments(definition.directives, 'join__type'))
        if (args.key)
          (keys[definition.name.value] ??= []).push(
            `${args.graph} ${args.key}${args.resolvable === 'false' ? ' (not resolvable)' : ''}`,
          );
    }
    // What each subgraph's SDL declares with @key (schema.graphql for ours), read the same way.
    const declared: Record<string, string[]> = {};
    for (const [graph, document] of [
      ['CATALOG', catalogTypeDefs],
      ['POLYV', typeDefs],
    ] as const)
      for (const definition of document.definitions) {
        if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
        for (const args of directiveArguments(definition.directives, 'key'))
          (declared[definition.name.value] ??= []).push(
            `${graph} ${args.fields}${args.resolvable === 'false' ? ' (not resolvable)' : ''}`,
          );
      }
    expect(Object.keys(declared)).toEqual(expect.arrayContaining(['Channel', 'RedPack']));
    expect(keys).toEqual(declared);
  });
});

/** The arguments of each use of a directive, as strings. */
function directiveArguments(
  directives: readonly DirectiveNode[] | undefined,
  name: string,
): Record<string, string>[] {
  return (directives ?? [])
    .filter((directive) => directive.name.value === name)
    .map((directive) =>
      Object.fromEntries(
        (directive.arguments ?? []).map((arg) => [
          arg.name.value,
          'value' in arg.value ? String(arg.value.value) : '',
        ]),
      ),
    );
}

describe('the subgraph itself', () => {
  it('returns its SDL with federation directives from _service', async () => {
    const response = await stack.graphql<{ _service: { sdl: string } }>('{ _service { sdl } }');
    const sdl = response.data!._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.9"');
    expect(sdl).toMatch(/type Channel\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type RedPack\s+@key\(fields: "id", resolvable: false\)/);
    expect(sdl).toMatch(/type PageInfo\s+@shareable/);
  });

  it('resolves 100 channel representations with concurrent, de-duplicated, bounded upstream calls', async () => {
    stack.emulator.setLatency(50);
    // 50 distinct channel numbers, each asked for twice.
    const ids = Array.from({ length: 50 }, (_, index) => String(2812610 + index));
    const representations = [...ids, ...ids].map((id) => ({ __typename: 'Channel', id }));
    const response = await stack.graphql<{
      _entities: ({ id: string; redPacks: { totalCount: number } } | null)[];
    }>(
      `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Channel { id redPacks(first: 1) { totalCount } } } }`,
      { representations },
    );
    expect(response.data!._entities).toHaveLength(100);
    expect(
      response.data!._entities.slice(0, 5).map((entity) => entity!.redPacks.totalCount),
    ).toEqual([3500, 300, 40, 0, 5]);
    // The 45 numbers that are not channels of this account fail alone, twice each.
    expect(response.errors).toHaveLength(90);
    expect(stack.emulator.calls).toHaveLength(50);
    expect(stack.emulator.maxInFlight).toBe(10);
  });
});

describe('through @apollo/gateway', () => {
  const query = (q: string, variables?: Record<string, unknown>) =>
    postGraphQL<Record<string, unknown>>(router.url, q, variables);

  it('answers a query that needs both subgraphs: titles from the catalog, red packs and income from Polyv', async () => {
    const response = await query(`{
      featuredChannels {
        id
        title
        redPacks(first: 2) { totalCount nodes { id amount { amount fen } } }
        incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 2) { totalCount nodes { id amount { amount } } }
      }
    }`);
    expect(response.errors).toBeUndefined();
    const store = stack.emulator.store;
    const from = Date.parse('2026-10-01T00:00:00+08:00');
    const to = Date.parse('2026-11-01T00:00:00+08:00');
    const expected = store.channels.map((channel) => {
      const packs = store.redPacks.get(channel.channelId) ?? [];
      const income = store.income.filter(
        (record) =>
          record.channelId === channel.channelId && record.payTime >= from && record.payTime < to,
      );
      return {
        id: channel.channelId,
        title: channel.name,
        redPacks: {
          totalCount: packs.length,
          nodes: packs.slice(0, 2).map((pack) => ({
            id: pack.redPackId,
            amount: { amount: (pack.amountFen / 100).toFixed(2), fen: pack.amountFen },
          })),
        },
        incomeRecords: {
          totalCount: income.length,
          nodes: income.slice(0, 2).map((record) => ({
            id: record.outTradeNo,
            amount: { amount: (record.amountFen / 100).toFixed(2) },
          })),
        },
      };
    });
    expect(response.data).toEqual({ featuredChannels: expected });
  });

  it('makes no more upstream calls than distinct pages for 50 channels: 50 distinct, or 5 when repeated', async () => {
    const distinct = Array.from({ length: 50 }, (_, index) => String(2812610 + index));
    const q = `query($ids: [ID!]!) { channelsByIds(ids: $ids) { id title redPacks(first: 1) { totalCount } } }`;
    await query(q, { ids: distinct });
    expect(stack.emulator.calls).toHaveLength(50);

    stack.emulator.resetCounters();
    const repeated = Array.from({ length: 50 }, (_, index) => String(2812610 + (index % 5)));
    const response = await query(q, { ids: repeated });
    expect(response.errors).toBeUndefined();
    expect(stack.emulator.calls).toHaveLength(5);
    expect((response.data!.channelsByIds as unknown[]).length).toBe(50);
  });
});
