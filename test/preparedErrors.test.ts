/**
 * What a refused document keeps in the prepare step's cache (src/server/prepare.ts). Found by the
 * fuzz campaign's heap figures: a document refused by validation was kept with its errors, whose
 * nodes held the document's whole token chain (~300 kB for 17 kB of text), and counted as 1 kB,
 * so the 32 MB cache could hold gigabytes of them: distinct invalid documents, one request each,
 * grew the heap until the process died.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { parse, validate } from 'graphql';
import { buildSchema } from '../src/schema/index.js';
import { OperationPreparer } from '../src/server/prepare.js';

const schema = buildSchema();

const collectGarbage: () => void = (() => {
  if (globalThis.gc) return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  return typeof gc === 'function' ? () => void gc() : () => undefined;
})();

const heapUsed = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

/** ~17 kB, one validation error (an unknown field), distinct for each `index`. */
const invalidDocument = (index: number) =>
  `{ x${index}: nope ${Array.from({ length: 1_000 }, (_, field) => `f${field}: __typename`).join(' ')} }`;

const preparer = (maxCachedBytes?: number) =>
  new OperationPreparer({
    schema,
    limits: { maxDocumentBytes: 20_000, maxValidationWork: 100_000 },
    hideSchemaDetails: false,
    introspection: true,
    ...(maxCachedBytes === undefined ? {} : { maxCachedBytes }),
  });

describe('documents refused by validation, in the prepare cache', () => {
  it('are kept without their tokens: a few tens of kB each, not hundreds', () => {
    const prepare = preparer();
    const before = heapUsed();
    const count = 100;
    for (let index = 0; index < count; index++) {
      const { prepared } = prepare.prepare(invalidDocument(index));
      expect('errors' in prepared && prepared.errors.length).toBe(1);
    }
    const perDocument = (heapUsed() - before) / count;
    console.log(`a refused 17 kB document keeps ${(perDocument / 1024).toFixed(0)} kB`);
    // ~300 kB each with the token chain.
    expect(perDocument).toBeLessThan(100 * 1024);
  });

  it('are weighed by what they keep, so the cache bound holds', () => {
    // 1 MB of cache: the bound must evict; counted as 1 kB each, 200 were kept (60 MB).
    const prepare = preparer(1024 * 1024);
    const before = heapUsed();
    for (let index = 0; index < 200; index++) prepare.prepare(invalidDocument(1_000 + index));
    expect(heapUsed() - before).toBeLessThan(10 * 1024 * 1024);
  });

  it('still answer with the locations graphql-js gives', () => {
    const query = '{\n  __typename\n  a: nope\n}';
    const { prepared } = preparer().prepare(query);
    expect('errors' in prepared).toBe(true);
    const errors = 'errors' in prepared ? prepared.errors : [];
    expect(errors.map((error) => error.toJSON())).toEqual(
      validate(schema, parse(query)).map((error) => ({
        ...error.toJSON(),
        extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
      })),
    );
    expect(errors[0]!.locations).toEqual([{ line: 3, column: 3 }]);
  });
});
