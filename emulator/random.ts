/**
 * A tiny seeded PRNG (sfc32) and the few helpers the demo data needs.
 *
 * The state lives in a plain object rather than a closure so that a dataset holding it
 * can be compared structurally (two datasets built from one seed are `toEqual`), and so
 * records inserted later continue the same deterministic sequence. sfc32 rather than the
 * smaller mulberry32: mulberry32's weak mixing of nearby counter states showed up as
 * visibly correlated demo records (the same viewer tipping nearly the same amount).
 */

/** The mutable state of one random sequence. */
export interface RandomSource {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** Starts a sequence; equal seeds give equal sequences. */
export function createRandom(seed: number): RandomSource {
  // Fixed constants (digits of golden ratio, pi, e) in three words, the seed in the
  // fourth; the first outputs are discarded so that nearby seeds diverge fully.
  const random = { a: 0x9e3779b9, b: 0x243f6a88, c: 0xb7e15162, d: (seed ^ 0xdeadbeef) >>> 0 };
  for (let i = 0; i < 15; i += 1) nextFloat(random);
  return random;
}

/** The next float in [0, 1). */
export function nextFloat(random: RandomSource): number {
  const { a, b, c, d } = random;
  const t = (((a + b) | 0) + d) | 0;
  random.d = (d + 1) | 0;
  random.a = b ^ (b >>> 9);
  random.b = (c + (c << 3)) | 0;
  random.c = (((c << 21) | (c >>> 11)) + t) | 0;
  return (t >>> 0) / 4294967296;
}

/** An integer in [min, max], both included. */
export function randomInt(random: RandomSource, min: number, max: number): number {
  return min + Math.floor(nextFloat(random) * (max - min + 1));
}

/** True with the given probability. */
export function chance(random: RandomSource, probability: number): boolean {
  return nextFloat(random) < probability;
}

/** One element of a non-empty list, uniformly. */
export function pick<T>(random: RandomSource, items: readonly T[]): T {
  const item = items[randomInt(random, 0, items.length - 1)];
  if (item === undefined) throw new RangeError('pick() needs a non-empty list');
  return item;
}

/** One value of a list of [value, weight] pairs, with probability proportional to weight. */
export function pickWeighted<T>(
  random: RandomSource,
  choices: readonly (readonly [T, number])[],
): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = nextFloat(random) * total;
  for (const [value, weight] of choices) {
    roll -= weight;
    if (roll < 0) return value;
  }
  // Only reachable through float rounding at the very top of the range.
  const last = choices[choices.length - 1];
  if (last === undefined) throw new RangeError('pickWeighted() needs a non-empty list');
  return last[0];
}

/** `count` distinct elements of `items` in random order (partial Fisher-Yates). */
export function sample<T>(random: RandomSource, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const taken = Math.min(count, pool.length);
  for (let i = 0; i < taken; i += 1) {
    const j = randomInt(random, i, pool.length - 1);
    const chosen = pool[j];
    const displaced = pool[i];
    if (chosen === undefined || displaced === undefined) throw new RangeError('index out of range');
    pool[i] = chosen;
    pool[j] = displaced;
  }
  return pool.slice(0, taken);
}

/** A string of `length` characters drawn from `alphabet`. */
export function randomString(random: RandomSource, alphabet: string, length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1)
    text += alphabet.charAt(randomInt(random, 0, alphabet.length - 1));
  return text;
}

export const HEX_DIGITS = '0123456789abcdef';
export const DECIMAL_DIGITS = '0123456789';
/** The characters WeChat uses in openIds (URL-safe base64). */
export const OPENID_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
