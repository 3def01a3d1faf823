/**
 * The in-place check of Polyv's answers (src/polyv/wireCheck.ts) against zod, its oracle: the
 * same verdict on every page, and the same model from what each returns. Pages are generated
 * from the emulator's own records, then mutated field by field the ways a broken or changed
 * Polyv could send them (a key missing, a wrong type, null, a fraction, a negative, a huge number,
 * an unknown key, a nested mutation).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import { createDemoDataset, toPolyvIncome, toPolyvRedPack } from '../emulator/index.js';
import {
  ENDPOINT_IDS,
  POLYV_ENDPOINTS,
  pageSchemaOf,
  v2Envelope,
  type EndpointId,
} from '../src/polyv/endpoints.js';
import { readWire, wireCheckOf } from '../src/polyv/wireCheck.js';

const dataset = createDemoDataset();
const RECORDS: Record<EndpointId, unknown[]> = {
  redPackStatistics: [...dataset.redPacks.values()]
    .flatMap((list) => list.slice(0, 10))
    .map(toPolyvRedPack),
  incomeDetail: dataset.income.slice(0, 40).map(toPolyvIncome),
};

/** Anything a JSON answer may hold in a field's place, and what JSON cannot (undefined). */
const STRANGE: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  '12',
  0,
  -0,
  1,
  -1,
  0.5,
  -0.01,
  2 ** 31,
  2 ** 53,
  1e21,
  Number.NaN,
  Infinity,
  true,
  false,
  [],
  [1],
  {},
  { redPackId: 1 },
];

/** A seeded generator (mulberry32): each run's mutations follow from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  return (below: number): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % below) >>> 0;
  };
}

type Json = Record<string, unknown>;

/** One mutation somewhere in a value, at any depth: a key dropped, replaced or added. */
function mutate(value: unknown, next: (below: number) => number, depth = 0): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || next(6) === 0) return next(2) ? [] : null;
    const copy = [...value];
    const at = next(copy.length);
    copy[at] = mutate(copy[at], next, depth + 1);
    return copy;
  }
  if (typeof value !== 'object' || value === null) return value;
  const copy: Json = { ...(value as Json) };
  const keys = Object.keys(copy);
  const key = keys[next(keys.length)]!;
  const nested = copy[key];
  switch (next(4)) {
    case 0:
      delete copy[key];
      break;
    case 1:
      copy[key] = STRANGE[next(STRANGE.length)];
      break;
    case 2:
      copy[`unknown${next(10)}`] = STRANGE[next(STRANGE.length)];
      break;
    default:
      copy[key] =
        typeof nested === 'object' && nested !== null && depth < 4
          ? mutate(nested, next, depth + 1)
          : STRANGE[next(STRANGE.length)];
  }
  return copy;
}

describe('the in-place check of a Polyv page', () => {
  it.each(ENDPOINT_IDS)('%s: its page schema is checked in place, not by zod', (endpoint) => {
    expect(wireCheckOf(pageSchemaOf(endpoint))).not.toBeNull();
  });

  it.each(ENDPOINT_IDS)(
    '%s: the same verdict as zod, and the same model, on 3,000 mutated pages (seed 23)',
    (endpoint) => {
      const schema = pageSchemaOf(endpoint);
      const { toModel } = POLYV_ENDPOINTS[endpoint].list as { toModel(raw: unknown): unknown };
      let refused = 0;
      fc.assert(
        fc.property(
          fc.subarray(RECORDS[endpoint], { minLength: 1, maxLength: 6 }),
          fc.integer({ min: 0, max: 3 }),
          fc.nat(),
          (contents, mutations, seed) => {
            const next = generator(seed);
            let page: unknown = {
              pageNumber: 1,
              pageSize: 10,
              totalItems: 100,
              totalPages: 10,
              contents,
            };
            for (let i = 0; i < mutations; i++) page = mutate(page, next);
            const byZod = schema.safeParse(page);
            const checked = readWire(schema, page);
            expect(checked.success).toBe(byZod.success);
            if (!checked.success || !byZod.success) {
              refused++;
              return;
            }
            // Accepted: what comes back is the page as sent, and it makes zod's model.
            expect(checked.data).toBe(page);
            expect(checked.data.contents.map(toModel)).toEqual(byZod.data.contents.map(toModel));
          },
        ),
        { seed: 23, numRuns: 3000 },
      );
      // The campaign tried both sides of the verdict.
      expect(refused).toBeGreaterThan(300);
      expect(refused).toBeLessThan(2700);
    },
  );

  it('refuses what zod refuses in a table of edge cases', () => {
    const schema = z.object({
      id: z.union([z.string(), z.number().int()]),
      count: z.number().int().nonnegative(),
      amount: z.number(),
      note: z.string().nullish(),
      list: z.array(z.object({ at: z.number().int() })).nullish(),
      extra: z.unknown(),
      maybe: z.unknown().optional(),
    });
    const valid = { id: 'a', count: 0, amount: 1.5, note: null, list: [{ at: 1 }], extra: 1 };
    const cases: unknown[] = [
      valid,
      { ...valid, id: 1.5 },
      { ...valid, id: 2 ** 53 },
      { ...valid, count: -1 },
      { ...valid, count: -0 },
      { ...valid, count: 1.5 },
      { ...valid, amount: Number.NaN },
      { ...valid, amount: Infinity },
      { ...valid, note: undefined },
      { ...valid, note: 3 },
      { ...valid, list: [{ at: '1' }] },
      { ...valid, list: [{}] },
      { ...valid, list: {} },
      { ...valid, extra: undefined },
      (({ extra: _extra, ...rest }) => rest)(valid),
      { ...valid, maybe: null },
      [],
      null,
      'page',
    ];
    expect(wireCheckOf(schema)).not.toBeNull();
    for (const value of cases)
      expect([value, readWire(schema, value).success]).toEqual([
        value,
        schema.safeParse(value).success,
      ]);
  });

  it('leaves to zod a schema it does not know (a transform, a default, a strict object)', () => {
    expect(wireCheckOf(z.object({ id: z.number().transform(String) }))).toBeNull();
    expect(wireCheckOf(z.object({ id: z.string().default('') }))).toBeNull();
    expect(wireCheckOf(z.strictObject({ id: z.string() }))).toBeNull();
    expect(wireCheckOf(z.string().min(1))).toBeNull();
    // v2's envelope has no default, v4's has one (its error's desc): zod reads that one.
    expect(wireCheckOf(v2Envelope)).not.toBeNull();
    // And zod's verdict and value stand where the check does not apply.
    const schema = z.object({ id: z.number().transform(String) });
    expect(readWire(schema, { id: 1 })).toEqual({ success: true, data: { id: '1' } });
  });
});
