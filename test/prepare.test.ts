/**
 * The pure cores of the one prepare step (src/server/prepare.ts) and of what a subscription may
 * hold (src/server/liveAdmission.ts): the validation-work estimate against graphql-js's own
 * validation time, the document cache's refusals, and the held-document accounting.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse, specifiedRules, validate } from 'graphql';
import { buildSchema } from '../src/schema/index.js';
import { HeldDocuments } from '../src/server/liveAdmission.js';
import { OperationPreparer, overlapWork } from '../src/server/prepare.js';

const schema = buildSchema();
const BUDGET = 100_000;

const preparer = (
  overrides: Partial<{ hideSchemaDetails: boolean; introspection: boolean }> = {},
) =>
  new OperationPreparer({
    schema,
    limits: { maxDocumentBytes: 20_000, maxValidationWork: BUDGET },
    hideSchemaDetails: false,
    introspection: true,
    ...overrides,
  });

/** The document: `topReceivers(first: 1) { amount { fen } }` repeated up to ~20 kB. */
const repeatedSelection = (times: number) =>
  `{ channel(id: "2812610") { redPackSummary { ${'topReceivers(first: 1) { amount { fen } } '.repeat(times)}} } }`;

describe('overlapWork: what validation would compare, estimated in one walk', () => {
  it.each([
    ['one field', '{ __typename }', 1],
    ['distinct fields', '{ a: __typename b: __typename c: __typename }', 3],
    // n fields of one name with s nodes below them in all: n × (n + s).
    ['the same field twice', '{ __typename __typename }', 4],
    [
      'three times, with selections',
      '{ channel(id: "1") { id } channel(id: "1") { id } channel(id: "1") { id } }',
      3 * (3 + 3) + 3,
    ],
    // The fragment's own set counts once (1), then its field twice where it is spread (4).
    ['spread twice', '{ ...F ...F } fragment F on Query { __typename }', 5],
  ])('%s', (_case, document, expected) => {
    expect(overlapWork(parse(document), Number.MAX_SAFE_INTEGER)).toBe(expected);
  });

  it('counts fragments spread inside fragments without walking them again (a fragment bomb)', () => {
    const levels = 40;
    const fragments = ['fragment F0 on Query { __typename }'];
    for (let level = 1; level <= levels; level++)
      fragments.push(`fragment F${level} on Query { ...F${level - 1} ...F${level - 1} }`);
    const started = performance.now();
    const work = overlapWork(parse(`{ ...F${levels} } ${fragments.join(' ')}`), BUDGET);
    expect(work).toBeGreaterThan(BUDGET);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('refuses the issue document before validating it, and validating it would have cost far more than preparing', () => {
    const attack = repeatedSelection(470);
    expect(Buffer.byteLength(attack)).toBeLessThan(20_000);
    const document = parse(attack);
    let started = performance.now();
    const work = overlapWork(document, BUDGET);
    const estimateMs = performance.now() - started;
    expect(work).toBeGreaterThan(BUDGET);
    started = performance.now();
    validate(schema, document, specifiedRules);
    const validateMs = performance.now() - started;
    // The estimate stops at the budget: a small fraction of what graphql-js would spend.
    expect(estimateMs * 10).toBeLessThan(validateMs);
    const prepared = preparer().prepare(attack).prepared;
    expect('errors' in prepared && prepared.errors[0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'validation',
    });
  });

  it('is monotonic: adding a selection never lowers the estimate (property)', () => {
    const field = fc.constantFrom('__typename', 'a: __typename', 'b: __typename');
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 40 }), field, (fields, extra) => {
        const before = overlapWork(parse(`{ ${fields.join(' ')} }`), Number.MAX_SAFE_INTEGER);
        const after = overlapWork(
          parse(`{ ${fields.join(' ')} ${extra} }`),
          Number.MAX_SAFE_INTEGER,
        );
        return after > before;
      }),
      { seed: 20, numRuns: 200 },
    );
  });

  it('keeps legitimate dashboard documents far below the budget', () => {
    const dashboard = `query($id: ID!) { channel(id: $id) {
      redPackSummary { count totalAmount { amount fen } byType { type label count } byStatus { status count }
        topReceivers(first: 10) { user { nickname openId } amount { amount fen } count } }
      redPacks(first: 100) { totalCount pageInfo { hasNextPage endCursor }
        nodes { id createdAt amount { amount } balance { amount } status receives { user { nickname } amount { amount } receivedAt } } } } }`;
    expect(overlapWork(parse(dashboard), BUDGET)).toBeLessThan(BUDGET / 100);
  });
});

describe('OperationPreparer', () => {
  it('prepares a text once: the second time costs nothing and gives the same document', () => {
    const prepare = preparer();
    const first = prepare.prepare('{ __typename }');
    const second = prepare.prepare('{ __typename }');
    expect('document' in first.prepared).toBe(true);
    expect(second.prepared).toBe(first.prepared);
    expect(second.spentMs).toBe(0);
  });

  it('keeps no token chain: nodes keep only their positions, so errors still have locations', () => {
    const { prepared } = preparer().prepare('{\n  __typename\n}');
    if (!('document' in prepared)) throw new Error('not prepared');
    const operation = prepared.document.definitions[0]! as { loc?: Record<string, unknown> };
    expect(Object.keys(operation.loc!).sort()).toEqual(['end', 'source', 'start', 'startToken']);
    expect(operation.loc!.startToken).toEqual({ line: 1, column: 1 });
  });

  it('refuses a document over the size limit before parsing it, and one over the token budget while parsing', () => {
    const big = preparer().prepare(`{ ${'__typename '.repeat(2_000)}}`).prepared;
    expect('errors' in big && big.errors[0]!.extensions).toMatchObject({ limit: 'documentSize' });
    // Punctuators need no separator: 12,000 bytes, more tokens than the parser's budget
    // (graphql-js spells it "more that").
    const tokens = preparer().prepare(`{ a(b: [${'[]'.repeat(6_000)}]) }`).prepared;
    expect('errors' in tokens && tokens.errors[0]!.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect('errors' in tokens && tokens.errors[0]!.message).toMatch(/more that 10000 tokens/);
  });

  it('answers a document nested past what the parser can recurse as a parse failure, not a crash', () => {
    const deep = preparer().prepare(`{ a(b: ${'['.repeat(12_000)}`).prepared;
    expect('errors' in deep && deep.errors[0]!.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect('errors' in deep && deep.errors[0]!.message).toBe(
      'Syntax Error: the document nests too deeply to be read.',
    );
  });

  it('answers a subscription whose directive argument graphql-js cannot read as invalid, not as a crash', () => {
    const { prepared } = preparer().prepare(
      'subscription S { a: __typename(a: $a) @include(if: "") }',
    );
    expect('errors' in prepared && prepared.errors[0]!.extensions.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });

  it('hides suggestions when schema details are hidden, and refuses introspection when it is off', () => {
    const suggested = preparer().prepare('{ chanel(id: "1") { id } }').prepared;
    expect('errors' in suggested && suggested.errors[0]!.message).toMatch(/Did you mean/);
    const hidden = preparer({ hideSchemaDetails: true }).prepare(
      '{ chanel(id: "1") { id } }',
    ).prepared;
    expect('errors' in hidden && hidden.errors[0]!.message).not.toMatch(/Did you mean/);
    const introspection = preparer({ introspection: false }).prepare(
      '{ __schema { types { name } } }',
    ).prepared;
    expect('errors' in introspection && introspection.errors[0]!.extensions.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });
});

describe('HeldDocuments: distinct documents kept by subscriptions', () => {
  it('counts a shared document once, per replica and per client, and gives it back with its last holder', () => {
    const held = new HeldDocuments({ maxBytes: 1_000, maxBytesPerClient: 400 });
    const a1 = held.hold('a', 'doc1', 300);
    const a2 = held.hold('a', 'doc1', 300);
    const b1 = held.hold('b', 'doc1', 300);
    expect(held.bytes()).toBe(300);
    expect(held.bytes('a')).toBe(300);
    // A second distinct document would take `a` past its share.
    expect(() => held.hold('a', 'doc2', 200)).toThrow(/one client may hold 400/);
    a1();
    a1();
    expect(held.bytes('a')).toBe(300);
    a2();
    expect(held.bytes('a')).toBe(0);
    expect(held.bytes()).toBe(300);
    b1();
    expect(held.bytes()).toBe(0);
  });

  it('never lets the replica or a client past its bound, whatever the order (property)', () => {
    const command = fc.record({
      client: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      doc: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5', 'd6'),
      release: fc.boolean(),
    });
    const sizes: Record<string, number> = { d1: 100, d2: 250, d3: 400, d4: 50, d5: 300, d6: 200 };
    fc.assert(
      fc.property(fc.array(command, { maxLength: 200 }), (commands) => {
        const held = new HeldDocuments({ maxBytes: 800, maxBytesPerClient: 450 });
        const releases: (() => void)[] = [];
        for (const { client, doc, release } of commands) {
          if (release && releases.length > 0) releases.shift()!();
          else
            try {
              releases.push(held.hold(client, doc, sizes[doc]!));
            } catch {
              // refused: fine
            }
          if (held.bytes() > 800) return false;
          for (const c of ['a', 'b', 'c', 'd', 'e']) if (held.bytes(c) > 450) return false;
        }
        for (const release of releases) release();
        return held.bytes() === 0;
      }),
      { seed: 21, numRuns: 300 },
    );
  });
});
