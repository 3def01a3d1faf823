/**
 * No byte a client sends becomes code (issue 20, point 1).
 *
 * graphql-jit wrote argument literals into the JavaScript it generated, and turned strings
 * starting with its public markers (`__MAGIC_DATE__33a9e76d_…`) into code: the second request of
 * `{ channel(id: "__MAGIC_DATE__…0), id: 'secret=' + globalThis.process.env.POLYV_APP_SECRET, b: (0") { id } }`
 * answered with the app secret. The gateway now compiles only canonical documents
 * (made in src/server/executor.ts): every literal a variable, no variable default, no `__proto__` name.
 *
 * The properties send documents whose literals carry every marker graphql-jit has (read from its
 * own source, so an upgrade that adds one is covered), quotes, backslashes, brackets, `${`,
 * backticks, line and paragraph separators, in every argument that takes a string (ids, session
 * ids, days, instants, cursors, `__type(name:)`, `_entities` representations and the objects
 * and lists inside them), in directive arguments, fragments and variable defaults, under aliases
 * that are names of Object.prototype. Each document goes three times to a gateway that compiles
 * (the first request introduces it, the next two run compiled code) and once to one that does
 * not (GATEWAY_COMPILED_EXECUTION=off, graphql-js): every answer must be graphql-js's, none may
 * hold the app secret or be a 500, and nothing may touch `globalThis`. Documents of a dashboard's
 * kind (up to 100 red packs with receives and money, income, any fields in any order) must be
 * answered byte for byte as graphql-js answers them: compiled execution is the cold path's speed,
 * and it may not cost a byte of difference.
 *
 * Seeds are fixed and printed; CODE_INJECTION_SEED and CODE_INJECTION_RUNS replay or widen them.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  Kind,
  parse,
  print,
  validate,
  visit,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { buildSchema } from '../src/schema/index.js';
import { canonicalOperation, isCanonical, variableValues } from '../src/server/executor.js';
import { startStack, type Stack } from './support/stack.js';

const SEED = Number(process.env['CODE_INJECTION_SEED'] ?? 0x20_0001);
const RUNS = Number(process.env['CODE_INJECTION_RUNS'] ?? 300);
/** The documents compiled without a server: cheap, so many more. */
const OFFLINE_RUNS = RUNS * 5;

/** graphql-jit's markers, from its own source: `const MAGIC_DATE = "__MAGIC_DATE__…"`. */
const MARKERS = [
  ...readFileSync(
    new URL('../node_modules/graphql-jit/dist/execution.js', import.meta.url),
    'utf8',
  ).matchAll(/const MAGIC_\w+ = "([^"]+)";/g),
].map((match) => match[1]!);

/** What an exploit tries: read the secret, or leave a mark on the process. */
const PWN = 'globalThis.__pwned = (globalThis.__pwned || 0) + 1';
const EXPLOIT = `${MARKERS.find((marker) => marker.startsWith('__MAGIC_DATE__'))}0), id: 'secret=' + globalThis.process.env.POLYV_APP_SECRET, b: (0`;
const SUFFIXES = [
  '',
  '0',
  '0), x: (1',
  `0), pwned: (${PWN}), b: (0`,
  "0), id: 'secret=' + globalThis.process.env.POLYV_APP_SECRET, b: (0",
  `0); ${PWN}; (0`,
  `"; ${PWN}; "`,
  `\\"; ${PWN}; //`,
  `\`\${${PWN}}\``,
];
const DANGEROUS = [
  '"',
  "'",
  '\\',
  ')',
  '(',
  '}',
  '{',
  '${',
  '`',
  '\n',
  '\r',
  '\t',
  '\u2028',
  '\u2029',
  '\u0000',
  '/*',
  '*/',
  '//',
  ';',
  '</script>',
  '__proto__',
  'process.env.POLYV_APP_SECRET',
];

const evilString: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...MARKERS), fc.constantFrom(...SUFFIXES))
    .map(([marker, suffix]) => marker + suffix),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...MARKERS),
        fc.constantFrom(...SUFFIXES),
        fc.constantFrom(...DANGEROUS),
        fc.string({ maxLength: 3 }),
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map((parts) => parts.join('')),
);

/** A string as a GraphQL literal: JSON's escapes are GraphQL's, or a block string now and then. */
const stringLiteral: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: evilString.map((text) => JSON.stringify(text)), weight: 4 },
  {
    // Raw backslashes and line breaks; a closing quote or backslash would end it early.
    arbitrary: evilString.map((text) => `"""${text.replaceAll('"""', '\\"""')} """`),
    weight: 1,
  },
);
const idLiteral = fc.oneof(
  { arbitrary: stringLiteral, weight: 3 },
  fc.constantFrom('"2812610"', '2812610', '"2812611"', '12345678901234567890123'),
);
// Days and instants are our scalars, which refuse a bad literal at validation, before any
// execution: mostly real ones, so that the rest of the document runs.
const dayLiteral = fc.oneof(stringLiteral, {
  arbitrary: fc.constantFrom('"2026-10-01"', '"2026-10-02"'),
  weight: 10,
});
const instantLiteral = fc.oneof(stringLiteral, {
  arbitrary: fc.constantFrom('"2026-10-01T00:00:00+08:00"', '"2026-11-19T14:18:56Z"'),
  weight: 10,
});
const intLiteral = fc.oneof(
  { arbitrary: fc.integer({ min: -1, max: 30 }).map(String), weight: 10 },
  fc.constantFrom('2147483647', '2147483648'),
);
const booleanLiteral = fc.constantFrom('true', 'false');
/** Any value an `_Any` representation may hold, lists and objects included. */
const anyLiteral: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    stringLiteral,
    intLiteral,
    booleanLiteral,
    fc.constant('null'),
    fc.constant('SOME_ENUM'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
    fc
      .array(fc.tuple(fc.constantFrom('a', 'b_c', 'nested', 'id'), tie('value')), {
        maxLength: 3,
      })
      .map((fields) => `{${[...new Map(fields)].map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
  ),
})).value;

/** Response names graphql-jit writes into object literals and after dots. */
const ALIASES = [
  '',
  'a',
  'a_b',
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'then',
  'toJSON',
];
const alias = fc.constantFrom(...ALIASES).map((name) => (name ? `${name}: ` : ''));
const directives = fc
  .tuple(
    fc.subarray(['skip', 'include']),
    fc.array(fc.oneof(booleanLiteral, fc.constant('$flag')), { minLength: 2, maxLength: 2 }),
  )
  .map(([names, values]) => names.map((name, i) => ` @${name}(if: ${values[i]})`).join(''));

/** One channel child that may read Polyv (at most one a channel: see `compare`). */
const channelChild = fc.oneof(
  fc.constant(''),
  fc
    .tuple(alias, intLiteral, idLiteral, instantLiteral, directives)
    .map(
      ([name, first, session, start, marks]) =>
        `${name}redPacks(first: ${first}, sessionId: ${session}, startTime: ${start})${marks} { totalCount }`,
    ),
  fc
    .tuple(alias, stringLiteral, intLiteral)
    .map(
      ([name, cursor, last]) =>
        `${name}redPacks(before: ${cursor}, last: ${last}) { totalCount nodes { id } }`,
    ),
  fc
    .tuple(alias, idLiteral, instantLiteral, instantLiteral, intLiteral)
    .map(
      ([name, session, start, end, top]) =>
        `${name}redPackSummary(sessionId: ${session}, startTime: ${start}, endTime: ${end}) { count topReceivers(first: ${top}) { count } }`,
    ),
  fc
    .tuple(alias, dayLiteral, dayLiteral, stringLiteral)
    .map(
      ([name, start, end, cursor]) =>
        `${name}incomeRecords(startDate: ${start}, endDate: ${end}, after: ${cursor}, first: 1) { totalCount }`,
    ),
);

/**
 * One root selection (its alias is the request's to give): every root field that takes a
 * literal, `__typename` under directives, an inline fragment and a named one.
 */
const rootSelection = fc.oneof(
  fc
    .tuple(idLiteral, directives, channelChild)
    .map(([id, marks, child]) => `channel(id: ${id})${marks} { id ${child} }`),
  fc.tuple(fc.array(idLiteral, { minLength: 1, maxLength: 3 }), fc.boolean()).map(
    ([ids, withVariable]) =>
      // A list holding a variable of the client's: hoisted leaf by leaf.
      `channels(ids: [${[...ids, ...(withVariable ? ['$cid'] : [])].join(', ')}]) { id }`,
  ),
  fc
    .tuple(dayLiteral, dayLiteral, idLiteral, stringLiteral)
    .map(
      ([start, end, channel, cursor]) =>
        `incomeRecords(startDate: ${start}, endDate: ${end}, channelId: ${channel}, before: ${cursor}, last: 1) { totalCount }`,
    ),
  stringLiteral.map((type) => `__type(name: ${type}) { name }`),
  fc
    .tuple(
      idLiteral,
      // An unknown __typename refuses the whole list, and `_entities` is non-null: all of data.
      fc.oneof(stringLiteral, { arbitrary: fc.constant('"Channel"'), weight: 3 }),
      fc.array(fc.tuple(fc.constantFrom('extra', 'nested', 'list'), anyLiteral), { maxLength: 2 }),
      fc.boolean(),
    )
    .map(([id, typename, extra, withVariable]) => {
      const fields = [...new Map(extra)].map(([key, value]) => `, ${key}: ${value}`).join('');
      // A variable inside a custom scalar's literal: graphql-js runs it.
      const second = `{__typename: ${typename}, id: ${withVariable ? '$id' : id}${fields}}`;
      return `_entities(representations: [{__typename: "Channel", id: ${id}}, ${second}]) { ... on Channel { id } }`;
    }),
  directives.map((marks) => `__typename${marks}`),
  fc
    .tuple(idLiteral, directives)
    .map(([id, marks]) => `... on Query${marks} { c: channel(id: ${id}) { id } }`),
  fc.constant('...Literals'),
);
/** Root response names, given each selection once: graphql-jit writes them as object keys. */
const ROOT_NAMES = ALIASES.filter(Boolean).concat('r1', 'r2', 'r3');

interface Request {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** A document with literals everywhere, its variables (with defaults) and what is sent. */
const request: fc.Arbitrary<Request> = fc
  .record({
    selections: fc.array(rootSelection, { minLength: 1, maxLength: 4 }),
    names: fc.shuffledSubarray(ROOT_NAMES, { minLength: 4, maxLength: 4 }),
    fragment: fc.tuple(idLiteral, stringLiteral, booleanLiteral),
    idDefault: fc.option(idLiteral, { nil: undefined }),
    cidDefault: idLiteral,
    flagDefault: booleanLiteral,
    idValue: fc.option(fc.oneof(evilString, fc.constant(null), fc.constant('2812610')), {
      nil: undefined,
    }),
    cidValue: fc.option(fc.oneof(evilString, fc.constant('2812611')), { nil: undefined }),
    flagValue: fc.option(fc.boolean(), { nil: undefined }),
    stray: fc.option(evilString, { nil: undefined }),
    // Mostly none (the one operation runs); sometimes one Apollo resolves none for.
    operationName: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 6 },
      { arbitrary: fc.constant('Q'), weight: 2 },
      fc.constantFrom('', 'Other', '__proto__'),
    ),
    second: fc.oneof({ arbitrary: fc.constant(false), weight: 3 }, fc.constant(true)),
  })
  .map((parts) => {
    const [fragmentId, fragmentType, fragmentFlag] = parts.fragment;
    // Defaults holding markers too: a default is applied to the values, never compiled.
    const body = parts.selections
      .map((selection, i) => (selection.startsWith('...') ? '' : `${parts.names[i]}: `) + selection)
      .join('\n  ');
    const uses = (text: string) => text.includes('...Literals');
    const definitions = [
      // Declared where used: an unused variable is a validation error.
      ...(body.includes('$id') ? [`$id: ID${parts.idDefault ? ` = ${parts.idDefault}` : ''}`] : []),
      `$cid: ID! = ${parts.cidDefault}`,
      `$flag: Boolean! = ${parts.flagDefault}`,
    ];
    const query = [
      `query Q(${definitions.join(', ')}) {\n  ${body}\n  _flag: __typename @include(if: $flag)\n  _id: __typename @skip(if: $flag)\n  _cid: channels(ids: [$cid, $cid]) { id }\n}`,
      ...(parts.second ? ['query Other { __typename }'] : []),
      ...(uses(body)
        ? [
            `fragment Literals on Query { f: channel(id: ${fragmentId}) @skip(if: ${fragmentFlag}) { id } t: __type(name: ${fragmentType}) { name } }`,
          ]
        : []),
    ].join('\n');
    const variables: Record<string, unknown> = {};
    if (parts.idValue !== undefined) variables['id'] = parts.idValue;
    if (parts.cidValue !== undefined) variables['cid'] = parts.cidValue;
    if (parts.flagValue !== undefined) variables['flag'] = parts.flagValue;
    // A variable the document does not declare, named like a hoisted literal.
    if (parts.stray !== undefined) variables['literal0'] = parts.stray;
    // Two operations need a name to run one (the test above sends them without).
    const operationName = parts.operationName ?? (parts.second ? 'Q' : undefined);
    return { query, variables, ...(operationName === undefined ? {} : { operationName }) };
  });

const schema = buildSchema();

describe('canonical documents (no server)', () => {
  it('reads every marker graphql-jit has from its source', () => {
    expect(MARKERS).toHaveLength(4);
    for (const marker of MARKERS) expect(marker).toMatch(/^__MAGIC_[A-Z_]+__[0-9a-f_]+$/);
  });

  it('hoists every literal of fields, directives, lists, objects and fragments into a typed variable, and applies defaults as graphql-js does', () => {
    const document = parse(`
      query Q($id: ID = "2812610", $given: ID = "x", $flag: Boolean! = true, $nothing: Int) {
        channel(id: ${JSON.stringify(EXPLOIT)}) @skip(if: false) { id redPacks(first: 2, startTime: "2026-10-01T00:00:00Z") { totalCount } }
        channels(ids: ["1", $id, 2812610]) @include(if: $flag) { id }
        _entities(representations: [{__typename: "Channel", id: "7", deep: [1, 2.5, ENUM, null, {a: true}]}, $rep]) { __typename }
        ...F
      }
      query Unused { __type(name: "not in the canonical document") { name } }
      fragment F on Query { __type(name: "Channel") { name } }
    `);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const canonical = canonicalOperation(schema, document, operation)!;
    expect(canonical).toBeDefined();
    expect(isCanonical(canonical.document)).toBe(true);
    expect(print(canonical.document)).toBe(
      [
        'query Q($id: ID, $given: ID, $flag: Boolean!, $nothing: Int, $literal0: ID!, $literal1: Boolean!, $literal2: Int, $literal3: DateTime, $literal4: ID!, $literal5: ID!, $literal6: _Any!, $literal7: String!) {',
        '  channel(id: $literal0) @skip(if: $literal1) {',
        '    id',
        '    redPacks(first: $literal2, startTime: $literal3) {',
        '      totalCount',
        '    }',
        '  }',
        '  channels(ids: [$literal4, $id, $literal5]) @include(if: $flag) {',
        '    id',
        '  }',
        '  _entities(representations: [$literal6, $rep]) {',
        '    __typename',
        '  }',
        '  ...F',
        '}',
        '',
        'fragment F on Query {',
        '  __type(name: $literal7) {',
        '    name',
        '  }',
        '}',
      ].join('\n'),
    );
    expect(Object.fromEntries(canonical.literals)).toEqual({
      literal0: EXPLOIT,
      literal1: false,
      literal2: 2,
      literal3: '2026-10-01T00:00:00Z',
      literal4: '1',
      // An ID written as an integer is its digits.
      literal5: '2812610',
      literal6: Object.assign(Object.create(null) as object, {
        __typename: 'Channel',
        id: '7',
        deep: [1, 2.5, 'ENUM', null, Object.assign(Object.create(null) as object, { a: true })],
      }),
      literal7: 'Channel',
    });
    expect(canonical.defaults).toEqual([
      ['id', '2812610'],
      ['given', 'x'],
      ['flag', true],
    ]);
    // A default only where the variable is absent; an explicit null stays; a literal wins over a
    // variable of the same name the client sent without declaring it.
    const values = variableValues(canonical, { given: null, literal0: 'forged', other: 1 });
    expect({ ...values }).toEqual({
      ...Object.fromEntries(canonical.literals),
      id: '2812610',
      given: null,
      flag: true,
      other: 1,
    });
  });

  it('names hoisted variables apart from every variable of the client', () => {
    const document = parse('query($literal0: ID!, $literal_1: ID) { channel(id: "1") { id } }');
    const canonical = canonicalOperation(
      schema,
      document,
      document.definitions[0] as OperationDefinitionNode,
    )!;
    expect(canonical.literals.map(([name]) => name)).toEqual(['literal__0']);
  });

  it('leaves to graphql-js what cannot be hoisted exactly', () => {
    // A variable inside a custom scalar's literal: graphql-js substitutes it, graphql-jit does not.
    const document = parse(
      'query($id: ID) { _entities(representations: [{__typename: "Channel", id: $id}]) { __typename } }',
    );
    expect(
      canonicalOperation(schema, document, document.definitions[0] as OperationDefinitionNode),
    ).toBeUndefined();
  });

  it('refuses, structurally, any document with a literal, a default, a `__proto__` or a non-name', () => {
    const canonical = (text: string) => isCanonical(parse(text));
    expect(canonical('query($a: ID!) { channel(id: $a) { id } }')).toBe(true);
    for (const text of [
      '{ channel(id: "1") { id } }',
      'query($a: Int) { channel(id: 1) { redPacks(first: $a) { totalCount } } }',
      'query($a: Float) { __typename @skip(if: true) }',
      'query($a: ID = "1") { channel(id: $a) { id } }',
      'query($a: [ID!]!) { channels(ids: $a) { id } } query B { __typename }',
      '{ __proto__: __typename }',
      'query($__proto__: ID!) { channel(id: $__proto__) { id } }',
      '{ ...__proto__ } fragment __proto__ on Query { __typename }',
      'query($a: Boolean!) { __typename @include(if: $a) } ',
    ])
      expect({ text, canonical: canonical(text) }).toEqual({
        text,
        canonical: text.startsWith('query($a: Boolean!)'),
      });
    // A name no parser would make, as graphql-jit would write it into code.
    const forged = parse('{ __typename }');
    const field = (forged.definitions[0] as OperationDefinitionNode).selectionSet.selections[0]!;
    const hostile: DocumentNode = {
      ...forged,
      definitions: [
        {
          ...(forged.definitions[0] as OperationDefinitionNode),
          selectionSet: {
            kind: Kind.SELECTION_SET,
            selections: [
              { ...field, alias: { kind: Kind.NAME, value: 'a": process.exit(1), "b' } },
            ] as never,
          },
        },
      ],
    };
    expect(isCanonical(hostile)).toBe(false);
  });

  it(`compiles no byte of any literal into code (seed ${SEED}, ${OFFLINE_RUNS} runs)`, () => {
    let compiled = 0;
    fc.assert(
      fc.property(request, ({ query }) => {
        let document: DocumentNode;
        try {
          document = parse(query);
        } catch {
          return;
        }
        if (validate(schema, document).length > 0) return;
        for (const definition of document.definitions) {
          if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
          const canonical = canonicalOperation(schema, document, definition);
          if (!canonical) continue;
          // Canonical unless a name is `__proto__` (an alias, say): graphql-js runs those.
          let proto = false;
          visit(canonical.document, {
            Name(node) {
              proto ||= node.value === '__proto__';
            },
          });
          expect(isCanonical(canonical.document)).toBe(!proto);
          if (proto) continue;
          const result = compileQuery(schema, canonical.document, undefined, {
            // Keeps the generated code on the result (graphql-jit's option, not in its types).
            debug: true,
          } as Parameters<typeof compileQuery>[3]);
          if (!isCompiledQuery(result)) continue;
          compiled++;
          const code = (result as { __DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation?: string })
            .__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation!;
          expect(code).not.toMatch(/__MAGIC_|__pwned|POLYV_APP_SECRET|new Date|</);
        }
      }),
      { seed: SEED, numRuns: OFFLINE_RUNS },
    );
    console.log(`code injection (offline): ${compiled} operations compiled and read`);
    expect(compiled).toBeGreaterThan(OFFLINE_RUNS / 10);
  });
});

/** A selection of some of `fields`, in any order, at least one. */
const selectionOf = (fields: string[]) =>
  fc.shuffledSubarray(fields, { minLength: 1 }).map((chosen) => `{ ${chosen.join(' ')} }`);
const userSelection = selectionOf(['openId', 'nickname', 'avatarUrl', '__typename']);
const moneySelection = selectionOf(['amount', 'fen', 'currency', '__typename']);
const receiveSelection = fc
  .tuple(userSelection, moneySelection)
  .chain(([user, money]) =>
    selectionOf(['redPackId', `user ${user}`, `amount ${money}`, 'receivedAt', 'at: receivedAt']),
  );
const redPackSelection = fc
  .tuple(userSelection, moneySelection, moneySelection, receiveSelection)
  .chain(([user, amount, balance, receives]) =>
    selectionOf([
      'id',
      'sessionId',
      `sender ${user}`,
      `amount ${amount}`,
      `balance ${balance}`,
      'allotType',
      'allotTypeLabel',
      'status',
      'statusLabel',
      'type',
      'typeLabel',
      'createdAt',
      `receives ${receives}`,
      'receiveCount',
      'channel { id }',
      '__typename',
    ]),
  );
const incomeSelection = fc
  .tuple(userSelection, moneySelection)
  .chain(([payer, amount]) =>
    selectionOf([
      'id',
      'accountId',
      `amount ${amount}`,
      'giftCount',
      'payType',
      'payTypeLabel',
      `payer ${payer}`,
      'paidAt',
      'wechatAppId',
      'channel { id }',
    ]),
  );
/** Either list of a connection: its nodes, or its edges with their cursors. */
const connectionOf = (node: fc.Arbitrary<string>) =>
  fc
    .tuple(node, fc.boolean(), fc.boolean())
    .map(
      ([selection, edges, pageInfo]) =>
        `totalCount ${edges ? `edges { cursor node ${selection} }` : `nodes ${selection}`}${pageInfo ? ' pageInfo { hasNextPage hasPreviousPage startCursor endCursor }' : ''}`,
    );
/**
 * Documents of a dashboard's kind, answered with data: a channel's red packs (up to 100, with
 * their receives and money) and its income, any fields in any order, under aliases.
 */
const dashboardDocument = fc
  .tuple(
    fc.constantFrom('2812610', '2812611', '2812612'),
    fc.constantFrom(1, 7, 20, 100),
    connectionOf(redPackSelection),
    fc.option(fc.tuple(fc.constantFrom(3, 12, 50), connectionOf(incomeSelection), fc.boolean()), {
      nil: undefined,
    }),
    fc.constantFrom('', 'packs: ', 'a_b: '),
  )
  .map(([channel, first, redPacks, income, name]) => {
    const incomeField = income
      ? ` incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: ${income[0]}) { ${income[1]} }`
      : '';
    // The income first or second: fields resolve concurrently, answers keep the query's order.
    const fields = [`${name}redPacks(first: ${first}) { ${redPacks} }`, incomeField];
    if (income?.[2]) fields.reverse();
    return { query: `{ channel(id: "${channel}") { id ${fields.join(' ')} } }` };
  });

describe('compiled execution answers as graphql-js does, whatever the literals hold', () => {
  let emulator: PolyvEmulator;
  let compiled: Stack;
  let interpreted: Stack;
  let secret: string;
  const savedSecret = process.env['POLYV_APP_SECRET'];
  beforeAll(async () => {
    console.log(
      `code injection: seed ${SEED} (CODE_INJECTION_SEED), ${RUNS} runs (CODE_INJECTION_RUNS)`,
    );
    emulator = await startEmulator({ port: 0 });
    secret = emulator.credentials.appSecret;
    // The gateways run in this process: the exploit reads the secret where a deployment keeps it.
    process.env['POLYV_APP_SECRET'] = secret;
    compiled = await startStack({ sharedEmulator: emulator });
    interpreted = await startStack({
      sharedEmulator: emulator,
      env: { GATEWAY_COMPILED_EXECUTION: 'off' },
    });
  });
  afterAll(async () => {
    if (savedSecret === undefined) delete process.env['POLYV_APP_SECRET'];
    else process.env['POLYV_APP_SECRET'] = savedSecret;
    await compiled?.close();
    await interpreted?.close();
    await emulator?.close();
  });

  let requests = 0;
  async function send(stack: Stack, body: Request) {
    const requestId = `code-injection-${++requests}`;
    const response = await fetch(`${stack.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(text).not.toContain(secret);
    expect(response.status).not.toBe(500);
    expect((globalThis as { __pwned?: unknown }).__pwned).toBeUndefined();
    return { status: response.status, text, execution: await executionOf(stack, requestId) };
  }

  /** What ran a request, from its log line (written as the answer goes out). */
  async function executionOf(stack: Stack, requestId: string): Promise<unknown> {
    for (let waited = 0; waited < 2_000; waited += 5) {
      const line = stack.logs.find((entry) => entry['requestId'] === requestId);
      if (line) return line['execution'];
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`no log line for ${requestId}`);
  }

  interface Body {
    data?: unknown;
    errors?: { path?: (string | number)[]; extensions?: { polyv?: { requestId?: string } } }[];
  }
  /** The answer as compared: Polyv's per-call request id masked, errors in a stable order. */
  function comparable({ status, text }: { status: number; text: string }) {
    const body = JSON.parse(text) as Body;
    for (const error of body.errors ?? [])
      if (error.extensions?.polyv?.requestId) error.extensions.polyv.requestId = '(per call)';
    // Fields resolve concurrently: their errors arrive in the order Polyv answered.
    body.errors = body.errors
      ?.map((error) => JSON.stringify(error))
      .sort()
      .map((error) => JSON.parse(error) as never);
    return { status, body };
  }

  const valueAt = (data: unknown, path: (string | number)[]): unknown =>
    path.reduce<unknown>(
      (value, key) => (value == null ? value : (value as Record<string, unknown>)[key]),
      data,
    );
  /** Answers whose compiled errors were more than graphql-js's (see `compare`). */
  let moreErrors = 0;

  /**
   * Sends `body` three times to the compiling gateway and once to graphql-js. Each compiled
   * answer must have graphql-js's status, data and extensions exactly, and its errors, with the
   * one difference graphql-jit is known for (test/fuzz.test.ts, property 5): when a non-null
   * field's error nulls an ancestor (`_entities` nulls all of `data`), graphql-js drops the errors
   * its other fields raise afterwards and compiled code reports them. So an error only the
   * compiled answer has must lie under a null ancestor.
   */
  async function compare(body: Request) {
    const sent = await send(interpreted, body);
    expect(sent.execution).not.toBe('compiled');
    const reference = comparable(sent);
    const { errors: expected = [], ...expectedRest } = reference.body;
    const executions: unknown[] = [];
    for (let time = 1; time <= 3; time++) {
      const compiledAnswer = await send(compiled, body);
      executions.push(compiledAnswer.execution);
      const answer = comparable(compiledAnswer);
      const { errors: actual = [], ...actualRest } = answer.body;
      expect({ time, status: answer.status, ...actualRest }).toEqual({
        time,
        status: reference.status,
        ...expectedRest,
      });
      const extra = actual.map((error) => JSON.stringify(error));
      for (const error of expected.map((error) => JSON.stringify(error))) {
        expect(extra).toContain(error);
        extra.splice(extra.indexOf(error), 1);
      }
      for (const error of extra) {
        const path = (JSON.parse(error) as { path?: (string | number)[] }).path ?? [];
        const underNull = path.some(
          (_, end) => valueAt(answer.body.data, path.slice(0, end)) === null,
        );
        expect({ error, underNull }).toEqual({ error, underNull: true });
      }
      if (extra.length > 0) moreErrors++;
    }
    return { ...reference, executions };
  }

  it('answers the reported exploit as graphql-js does, three times, without the secret', async () => {
    const query = `{ channel(id: ${JSON.stringify(EXPLOIT)}) { id } }`;
    const answer = await compare({ query });
    // Introduced by the first request, compiled from its canonical copy for the next two.
    expect(answer.executions).toEqual(['graphql-js', 'compiled', 'compiled']);
    expect(answer.body).toMatchObject({
      data: { channel: null },
      errors: [{ extensions: { code: 'BAD_USER_INPUT' } }],
    });
    expect(JSON.stringify(answer.body)).toContain('globalThis.process.env.POLYV_APP_SECRET');
  });

  it('runs no code a literal holds, in any argument', async () => {
    const marker = MARKERS.find((text) => text.startsWith('__MAGIC_DATE__'))!;
    const pwn = JSON.stringify(`${marker}0), pwned: (${PWN}), b: (0`);
    const answer = await compare({
      query: `{
        channel(id: ${pwn}) { id redPacks(sessionId: ${pwn}, first: 1) { totalCount } }
        channels(ids: [${pwn}, "2812610"]) { id }
        __type(name: ${pwn}) { name }
        _entities(representations: [{__typename: "Channel", id: ${pwn}, x: {y: [${pwn}]}}]) { ... on Channel { id } }
      }`,
    });
    expect(answer.executions).toEqual(['graphql-js', 'compiled', 'compiled']);
  });

  it('answers an empty operationName as graphql-js does, every time (never a 500)', async () => {
    const { executions, ...answer } = await compare({ query: '{ __typename }', operationName: '' });
    expect(executions).toEqual(['graphql-js', 'graphql-js', 'graphql-js']);
    expect(answer).toEqual({
      status: 200,
      body: {
        errors: [
          {
            message: 'Unknown operation named "".',
            extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
          },
        ],
      },
    });
    await compare({ query: 'query A { __typename } query B { __typename }' });
    await compare({ query: 'query A { __typename }', operationName: 'B' });
  });

  it('answers fields aliased `__proto__` (and other Object.prototype names) as graphql-js does', async () => {
    const answer = await compare({
      query: `{
        __proto__: __typename
        constructor: channel(id: "2812610") { __proto__: id hasOwnProperty: id toString: id }
        toJSON: channels(ids: ["2812610"]) { then: id valueOf: id }
      }`,
    });
    // graphql-jit would write `"__proto__": …` into an object literal: graphql-js runs it.
    expect(answer.executions).toEqual(['graphql-js', 'graphql-js', 'graphql-js']);
    expect(answer.body).toEqual({
      data: {
        ['__proto__']: 'Query',
        constructor: { ['__proto__']: '2812610', hasOwnProperty: '2812610', toString: '2812610' },
        toJSON: [{ then: '2812610', valueOf: '2812610' }],
      },
    });
    await compare({
      query:
        'query __proto__($__proto__: ID = "2812610") { channel(id: $__proto__) { ...__proto__ } } fragment __proto__ on Channel { id }',
    });
  });

  it('applies variable defaults holding markers as graphql-js does', async () => {
    const marker = MARKERS.find((text) => text.startsWith('__MAGIC_DATE__'))!;
    const query = `query($id: ID = ${JSON.stringify(EXPLOIT)}, $ids: [ID!] = [${JSON.stringify(`${marker}0), pwned: (${PWN}), b: (0`)}, "2812610"], $nan: String = ${JSON.stringify(MARKERS.find((text) => text.startsWith('__MAGIC_NAN__')))}) {
      channel(id: $id) { id }
      channels(ids: $ids) { id }
      __type(name: $nan) { name }
    }`;
    const executions = [];
    for (const variables of [{}, { id: null }, { id: '2812610', ids: null }, { nan: 'Channel' }])
      executions.push(...(await compare({ query, variables })).executions);
    // Introduced by the first request; compiled, once, for every later one.
    expect(executions).toEqual(['graphql-js', ...Array<string>(11).fill('compiled')]);
  });

  it(`answers generated documents as graphql-js does (seed ${SEED}, ${RUNS} runs)`, async () => {
    let data = 0;
    let ranCompiled = 0;
    await fc.assert(
      fc.asyncProperty(request, async (body) => {
        const answer = await compare(body);
        if ((answer.body as { data?: unknown }).data) data++;
        if (answer.executions.includes('compiled')) ranCompiled++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(
      `code injection: of ${RUNS} generated requests, ${data} answered with data, ${ranCompiled} ran compiled; ${moreErrors} compiled answers had more errors (under a nulled parent) than graphql-js's`,
    );
    expect(ranCompiled).toBeGreaterThan(RUNS / 10);
    expect(data).toBeGreaterThan(RUNS / 10);
  }, 120_000);

  /** Generated dashboard documents: fewer runs, each answer is tens to hundreds of kB. */
  const DASHBOARD_RUNS = Math.max(1, Math.floor(RUNS / 6));
  it(`answers generated dashboard documents byte for byte as graphql-js does (seed ${SEED}, ${DASHBOARD_RUNS} runs)`, async () => {
    let bytes = 0;
    await fc.assert(
      fc.asyncProperty(dashboardDocument, async (body) => {
        const reference = await send(interpreted, body);
        expect(reference.execution).toBe('graphql-js');
        // Answered with data and no error: the bytes are comparable, errors (per-call request
        // ids, concurrent order) are not; the generator asks only for what is there.
        expect(reference.status).toBe(200);
        expect(JSON.parse(reference.text)).not.toHaveProperty('errors');
        const executions: unknown[] = [];
        for (let time = 1; time <= 3; time++) {
          const answer = await send(compiled, body);
          executions.push(answer.execution);
          expect({ time, status: answer.status }).toEqual({ time, status: reference.status });
          // Not toBe: a failure would print two answers of hundreds of kB.
          if (answer.text !== reference.text) {
            let at = 0;
            while (answer.text[at] === reference.text[at]) at++;
            throw new Error(
              `answer ${time} (${String(answer.execution)}) differs from graphql-js's at byte ${at}: …${answer.text.slice(at - 60, at + 60)}… instead of …${reference.text.slice(at - 60, at + 60)}…`,
            );
          }
        }
        // The first introduces the document, the next two run its compiled code.
        expect(executions).toEqual(['graphql-js', 'compiled', 'compiled']);
        bytes += reference.text.length;
      }),
      { seed: SEED, numRuns: DASHBOARD_RUNS },
    );
    console.log(
      `code injection: ${DASHBOARD_RUNS} generated dashboard documents answered byte for byte alike, ${(bytes / DASHBOARD_RUNS / 1000).toFixed(0)} kB an answer on average`,
    );
  }, 180_000);
});
