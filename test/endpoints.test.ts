/**
 * Each Polyv endpoint is declared once (src/polyv/endpoints.ts) and everything else is read
 * from the declaration. Proven three ways: a misspelt endpoint id fails the type check wherever
 * one is written; every declared endpoint is served by the emulator, in its declared envelope and
 * paging; and every declared endpoint has a list, built from its declaration, that reads it
 * through the page cache, reused for its declared TTL.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { z } from 'zod';
import { PolyvPageCache } from '../src/cache/pageCache.js';
import { SharedCache } from '../src/cache/sharedCache.js';
import { loadConfig } from '../src/config/index.js';
import { exampleParams, startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { listOf, type PolyvList } from '../src/lists/list.js';
import { ENDPOINT_IDS, POLYV_ENDPOINTS, pageRequest } from '../src/polyv/endpoints.js';
import { PolyvHttpClient } from '../src/polyv/http.js';
import { CallBudget, PolyvPages, RecordBudget } from '../src/polyv/pages.js';
import { generousGuard } from './support/guard.js';

const ROOT = new URL('..', import.meta.url).pathname;

describe('an endpoint id is a type', () => {
  const FIXTURES = path.join(ROOT, 'test-output', 'endpoint-ids');
  const from = (folder: string) =>
    path.relative(FIXTURES, path.join(ROOT, folder)).split(path.sep).join('/');
  const SRC = from('src');
  const EMULATOR = from('emulator');

  /** Each place an endpoint id is written, with the id left to fill in. */
  const USES = {
    "a list's reader": (id: string) => `
      import { listOf } from '${SRC}/lists/list.js';
      export const list = listOf('${id}');`,
    "the page cache's TTL": (id: string) => `
      import type { PolyvPages } from '${SRC}/polyv/pages.js';
      export const maxAge = (pages: PolyvPages) => pages.maxAgeSeconds('${id}');`,
    'a call to Polyv': (id: string) => `
      import { pageRequest } from '${SRC}/polyv/endpoints.js';
      export const request = pageRequest('${id}', {}, { number: 1, size: 10 });`,
    "a declaration's fields": (id: string) => `
      import { POLYV_ENDPOINTS } from '${SRC}/polyv/endpoints.js';
      export const ttl = POLYV_ENDPOINTS['${id}'].defaultCacheTtlS;`,
    "the emulator's fault table": (id: string) => `
      import type { PolyvEmulator } from '${EMULATOR}/index.js';
      export const fail = (emulator: PolyvEmulator) => emulator.injectFaults('qps', 1, '${id}');`,
  } as const;

  let diagnostics: Map<string, string[]>;
  beforeAll(() => {
    mkdirSync(FIXTURES, { recursive: true });
    const files: string[] = [];
    for (const [use, write] of Object.entries(USES))
      for (const [kind, id] of [
        ['right', 'redPackStatistics'],
        ['misspelt', 'redPackStatistic'],
        ['undeclared', 'giftStatistics'],
      ]) {
        const file = path.join(FIXTURES, `${use.replace(/\W+/g, '-')}.${kind}.ts`);
        writeFileSync(file, write(id!));
        files.push(file);
      }
    // The project's own compiler options: what `npm run typecheck` checks with.
    const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
    const program = ts.createProgram(files, { ...options, noEmit: true });
    diagnostics = new Map(
      files.map((file) => [
        path.basename(file),
        ts
          .getPreEmitDiagnostics(program, program.getSourceFile(file))
          .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')),
      ]),
    );
  }, 120_000);

  it.each(Object.keys(USES))('in %s: a declared id compiles', (use) => {
    expect(diagnostics.get(`${use.replace(/\W+/g, '-')}.right.ts`)).toEqual([]);
  });

  it.each(Object.keys(USES))('in %s: a misspelt or undeclared id fails tsc', (use) => {
    for (const [kind, id] of [
      ['misspelt', 'redPackStatistic'],
      ['undeclared', 'giftStatistics'],
    ]) {
      const found = diagnostics.get(`${use.replace(/\W+/g, '-')}.${kind}.ts`);
      // The diagnostic names the wrong id ("…" in a type, '…' as a property).
      expect(found).toEqual(expect.arrayContaining([expect.stringMatching(`["']${id}["']`)]));
    }
  });
});

/** The kinds of zod node a schema is built from, walked through every nested schema. */
function zodKinds(schema: unknown, into = new Set<string>()): Set<string> {
  const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
  into.add(def.type as string);
  const nested = [
    def.innerType,
    def.element,
    def.in,
    def.out,
    ...((def.options as unknown[]) ?? []),
  ];
  for (const inner of [...nested, ...Object.values((def.shape as object) ?? {})])
    if (inner) zodKinds(inner, into);
  return into;
}

describe("a record's schema says only what Polyv sends", () => {
  it.each(ENDPOINT_IDS)('%s: no transform, no default (toModel converts)', (endpoint) => {
    // A transform makes zod read a page 5x slower (issue 23: 148 µs against 806 µs).
    const kinds = zodKinds(POLYV_ENDPOINTS[endpoint].record);
    expect(kinds.has('object')).toBe(true);
    for (const kind of ['pipe', 'transform', 'default', 'prefault', 'catch'])
      expect(kinds).not.toContain(kind);
  });

  it('the walk finds a transform where there is one', () => {
    expect(zodKinds(z.object({ id: z.number().transform(String) }))).toContain('transform');
  });
});

describe('every declared endpoint', () => {
  let emulator: PolyvEmulator;
  let client: PolyvHttpClient;
  beforeAll(async () => {
    emulator = await startEmulator();
    client = new PolyvHttpClient({
      baseUrl: emulator.url,
      ...emulator.credentials,
      timeoutMs: 10_000,
      retries: 0,
      maxSockets: 4,
      guard: generousGuard(),
    });
  });
  afterAll(async () => {
    client.close();
    await emulator.close();
  });

  it.each(ENDPOINT_IDS)(
    '%s: the emulator serves it as declared (path, method, envelope, paging, record)',
    async (endpoint) => {
      const declared = POLYV_ENDPOINTS[endpoint];
      emulator.resetCounters();
      const params = exampleParams(endpoint, emulator.store);
      const pages = new PolyvPages(client);
      const first = await pages.call(pageRequest(endpoint, params, { number: 1, size: 3 }));
      const second = await pages.call(pageRequest(endpoint, params, { number: 2, size: 3 }));
      // Read by the declared schemas (pageRequest's): records, and more of them than one page.
      expect(first.data.contents).toHaveLength(3);
      expect(first.data.totalItems).toBeGreaterThan(3);
      expect(second.data.contents).toHaveLength(3);
      expect(second.data.contents).not.toEqual(first.data.contents);
      expect(emulator.calls.map((call) => [call.endpoint, call.method])).toEqual([
        [endpoint, declared.method],
        [endpoint, declared.method],
      ]);
      // The page travels under the endpoint's own parameter name.
      expect(emulator.calls[1]!.params).toMatchObject({
        [declared.pageNumberParam]: '2',
        pageSize: '3',
      });
    },
  );

  it.each(ENDPOINT_IDS)('%s: the emulator serves up to its declared page cap', async (endpoint) => {
    const { maxPageSize } = POLYV_ENDPOINTS[endpoint];
    const params = exampleParams(endpoint, emulator.store);
    const pages = new PolyvPages(client);
    await expect(
      pages.call(pageRequest(endpoint, params, { number: 1, size: maxPageSize })),
    ).resolves.toBeDefined();
    await expect(
      pages.call(pageRequest(endpoint, params, { number: 1, size: maxPageSize + 1 })),
    ).rejects.toMatchObject({ endpoint, polyvMessage: 'param validate error' });
  });

  describe('has a list, read through the page cache, for its declared TTL', () => {
    it.each(ENDPOINT_IDS)('%s', async (endpoint) => {
      const config = loadConfig({ NODE_ENV: 'test', GATEWAY_CACHE: 'on' });
      const cache = new PolyvPageCache(new SharedCache(1024 * 1024, undefined, 'page:'), undefined);
      const pages = new PolyvPages(client, { cache, ttlMs: config.cache.ttlMs });
      const session = {
        pages,
        options: { budget: new CallBudget(10) },
        held: new RecordBudget(1_000),
      };
      const list = listOf(endpoint) as PolyvList<object, unknown>;
      // A list's filters are named as its endpoint's parameters (true of every list so far).
      const filter = exampleParams(endpoint, emulator.store);
      emulator.resetCounters();
      const readable = list.read(session, filter);
      expect(readable.maxAgeSeconds).toBe(POLYV_ENDPOINTS[endpoint].defaultCacheTtlS);
      const page = await readable.fetchWholePage(1, 5, false);
      expect(page.items).toHaveLength(5);
      // Again, in another request: served from the page cache, Polyv asked once.
      const again = await list.read({ ...session }, filter).fetchWholePage(1, 5, false);
      expect(again.items).toEqual(page.items);
      expect(emulator.calls.map((call) => call.endpoint)).toEqual([endpoint]);
    });
  });
});
