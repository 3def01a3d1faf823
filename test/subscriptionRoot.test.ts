/**
 * A subscription's root selections under @skip/@include (src/server/subscriptionRoot.ts): graphql-js
 * 16's single-root-field rule threw out of validate() on some of them, and every transport
 * answered 500 (or "parse failed"). The prepare step every transport shares now reports them.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parse, specifiedRules, validate } from 'graphql';
import { buildSchema } from '../src/schema/index.js';
import { OperationPreparer } from '../src/server/prepare.js';

const schema = buildSchema();
const preparer = new OperationPreparer({
  schema,
  limits: { maxDocumentBytes: 20_000, maxValidationWork: 100_000 },
  hideSchemaDetails: false,
  introspection: true,
});

const TOTALS = 'channelTotals(channelId: "2812614") { count }';

/** What preparing answered: the error messages and codes, or "valid". */
function outcome(query: string): 'valid' | { message: string; code: unknown }[] {
  const { prepared } = preparer.prepare(query);
  return 'errors' in prepared
    ? prepared.errors.map((error) => ({ message: error.message, code: error.extensions.code }))
    : 'valid';
}

const refusal = (directive: 'skip' | 'include') => ({
  message: `A subscription's root selections may not use @${directive}: its one root field must be known whatever the variables.`,
  code: 'GRAPHQL_VALIDATION_FAILED',
});

describe("a subscription's root selections under @skip or @include", () => {
  const THREW = [
    // The fuzz campaign's finding: an invalid literal.
    'subscription S { a: __typename(a: $a) @include(if: "") }',
    // A valid document: the variable has no value while validating.
    `subscription S($f: Boolean!) { ${TOTALS.replace(' {', ' @include(if: $f) {')} }`,
    `subscription { ${TOTALS.replace(' {', ' @skip(if: null) {')} }`,
  ];

  it.each(THREW)('made graphql-js 16 throw out of validate(): %s', (query) => {
    // If this starts to pass, graphql-js reports them itself and subscriptionRoot.ts can go.
    expect(() => validate(schema, parse(query), specifiedRules)).toThrow();
  });

  it.each(THREW)('is a validation error when prepared, for every transport: %s', (query) => {
    const directive = query.includes('@skip') ? 'skip' : 'include';
    expect(outcome(query)).toEqual(expect.arrayContaining([refusal(directive)]));
  });

  it.each([
    ['an inline fragment', `subscription { ... on Subscription @skip(if: true) { ${TOTALS} } }`],
    [
      'a field in an inline fragment',
      `subscription { ... on Subscription { ${TOTALS.replace(' {', ' @skip(if: 1) {')} } }`,
    ],
    [
      'a fragment spread',
      `subscription { ...F @include(if: false) } fragment F on Subscription { ${TOTALS} }`,
    ],
    [
      'a field of a fragment spread in a fragment',
      `subscription { ...F } fragment F on Subscription { ...G } fragment G on Subscription { ${TOTALS.replace(' {', ' @include(if: $x) {')} }`,
    ],
  ])('reaches %s, as graphql-js collects root fields', (_where, query) => {
    const found = outcome(query);
    expect(found).not.toBe('valid');
    expect((found as { message: string }[]).map(({ message }) => message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^A subscription's root selections may not use @/),
      ]),
    );
  });

  it('ends on fragments that spread each other at the root', () => {
    const found = outcome(
      'subscription { ...A } fragment A on Subscription { ...B __typename @skip(if: $x) } fragment B on Subscription { ...A }',
    );
    expect(found).toEqual(expect.arrayContaining([refusal('skip')]));
  });

  it('leaves directives below the root field, and queries, as they were', () => {
    expect(
      outcome(
        'subscription($f: Boolean!) { channelTotals(channelId: "2812614") { count @skip(if: $f) } }',
      ),
    ).toBe('valid');
    expect(outcome('query($f: Boolean!) { __typename @include(if: $f) }')).toBe('valid');
    expect(outcome(`subscription { ${TOTALS} }`)).toBe('valid');
  });

  it("keeps graphql-js's own single-root-field errors", () => {
    expect(
      outcome(
        'subscription S { a: channelTotals(channelId: "1") { count } b: channelTotals(channelId: "2") { count } }',
      ),
    ).toEqual([
      {
        message: 'Subscription "S" must select only one top level field.',
        code: 'GRAPHQL_VALIDATION_FAILED',
      },
    ]);
    expect(outcome('subscription { __typename }')).toEqual([
      {
        message: 'Anonymous Subscription must not select an introspection top level field.',
        code: 'GRAPHQL_VALIDATION_FAILED',
      },
    ]);
  });

  it('never throws while preparing, whatever the root directives hold', () => {
    const value = fc.constantFrom(
      'true',
      'false',
      'null',
      '""',
      '1',
      '$v',
      '$undeclared',
      '[true]',
      '{}',
    );
    const directive = fc
      .tuple(fc.constantFrom('skip', 'include'), value)
      .map(([name, argument]) => ` @${name}(if: ${argument})`);
    const maybe = fc.option(directive, { nil: '' });
    const selection = fc.oneof(
      maybe.map((d) => `channelTotals(channelId: "1")${d} { count }`),
      maybe.map((d) => `__typename${d}`),
      maybe.map((d) => `...F${d}`),
      maybe.map((d) => `... on Subscription${d} { __typename }`),
    );
    fc.assert(
      fc.property(
        fc.array(selection, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('', '($v: Boolean!)', '($v: Boolean)'),
        maybe,
        (selections, variables, fragmentDirective) => {
          const query = `subscription S${variables} { ${selections.join(' ')} } fragment F on Subscription { __typename${fragmentDirective} }`;
          expect(() => preparer.prepare(query)).not.toThrow();
        },
      ),
      { seed: 0x5eed_0020, numRuns: 300 },
    );
  });
});
