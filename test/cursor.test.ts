/**
 * Cursors (src/pagination/cursor.ts), pure: what `encodeCursor` issues `decodeCursor` reads back,
 * anything else is `undefined` (never an exception), and a cursor carries its list's binding.
 *
 * Cursors are opaque, not signed: a client who rewrites one into another well-formed cursor gets
 * that cursor. What stops it pointing at the wrong records is the binding (checked by
 * connection.ts) and the record check behind it (staleCursor.test.ts), not this codec.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  bindingOf,
  decodeCursor,
  encodeCursor,
  MAX_CURSOR_LENGTH,
  MAX_POSITION,
  type Cursor,
} from '../src/pagination/cursor.js';

const RED_PACKS = 'redPacks:{"channelId":"2812610"}';

const cursorOf = (fields: Partial<Cursor> = {}): Cursor => ({
  binding: bindingOf(RED_PACKS),
  position: 19,
  id: 'rp-0019',
  time: 1_700_000_000_000,
  total: 3500,
  ...fields,
});

/** A cursor written by hand, as a client could: base64url of any JSON. */
const handMade = (payload: unknown) =>
  Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');

/** The payload of `cursorOf(fields)`, in the order the wire format (version c1) puts it. */
const payloadOf = (fields: Partial<Cursor> = {}) => {
  const { binding, position, id, time, total } = cursorOf(fields);
  return ['c1', binding, position, id, time, total];
};

/**
 * What version c1 admits, written apart from cursor.ts's schema: lengths count code points,
 * positions and totals are whole numbers up to MAX_POSITION, time any safe integer.
 */
function isCursorPayload(value: unknown): boolean {
  if (!Array.isArray(value) || value.length !== 6) return false;
  const [version, binding, position, id, time, total] = value as unknown[];
  const count = (n: unknown) =>
    Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_POSITION;
  const text = (s: unknown, max: number) => typeof s === 'string' && [...s].length <= max;
  return (
    version === 'c1' &&
    text(binding, 64) &&
    count(position) &&
    text(id, 128) &&
    Number.isSafeInteger(time) &&
    count(total)
  );
}

/** Fields within every bound, as a list hands them over. */
const validCursor = fc.record({
  binding: fc.string().map(bindingOf),
  position: fc.nat(MAX_POSITION),
  // Printable ASCII, quotes and backslashes included: what Polyv's ids are made of.
  id: fc.string({ maxLength: 128 }),
  time: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  total: fc.nat(MAX_POSITION),
});

describe('cursors: named cases', () => {
  it('are base64url JSON, version c1 first: cursors already handed out stay readable', () => {
    expect(encodeCursor(cursorOf())).toBe(handMade(payloadOf()));
    expect(encodeCursor(cursorOf())).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each<[string, Partial<Cursor>]>([
    ['a cursor as connections issue it', {}],
    ['the first position', { position: 0, total: 1 }],
    ['the last position there can be', { position: MAX_POSITION, total: MAX_POSITION }],
    ['an empty list total (a cursor outlives its list)', { total: 0 }],
    ['a time before 1970', { time: -1 }],
    ['the extreme safe times', { time: Number.MAX_SAFE_INTEGER }],
    ['an empty id', { id: '' }],
    ['an id of 128 characters', { id: 'x'.repeat(128) }],
    ['an id of quotes and backslashes', { id: '"\\'.repeat(64) }],
    ['a Chinese id with an emoji', { id: '红包-2812610-🧧' }],
    ['a lone surrogate (JSON escapes it)', { id: 'a\ud800b' }],
  ])('round trip: %s', (_name, fields) => {
    expect(decodeCursor(encodeCursor(cursorOf(fields)))).toEqual(cursorOf(fields));
  });

  const valid = encodeCursor(cursorOf());
  it.each<[string, string]>([
    ['an empty string', ''],
    ['a truncated cursor (one character)', valid.slice(0, -1)],
    ['a truncated cursor (half)', valid.slice(0, valid.length / 2)],
    ['base64 padding', `${valid}==`],
    ['a "+" of standard base64', `+${valid.slice(1)}`],
    ['a "/" of standard base64', `${valid.slice(0, -1)}/`],
    ['a cursor with a space', ` ${valid}`],
    ['a dot', `${valid}.`],
    ['a fullwidth letter', `${valid.slice(0, -1)}Ａ`],
    ['an emoji', '🧧'],
    ['longer than any cursor we make', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
    ['a megabyte', 'A'.repeat(1_000_000)],
    ['a megabyte of a valid-looking cursor', valid.repeat(Math.ceil(1_000_000 / valid.length))],
    ['graphql-relay’s cursor of offset 19', Buffer.from('arrayconnection:19').toString('base64')],
    ['base64url of text that is not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON that is not an array', handMade({ version: 'c1', position: 19 })],
    ['JSON null', handMade(null)],
    ['the version alone', handMade('c1')],
    ['version c0', handMade(['c0', ...payloadOf().slice(1)])],
    ['version c2', handMade(['c2', ...payloadOf().slice(1)])],
    ['version C1', handMade(['C1', ...payloadOf().slice(1)])],
    ['no version', handMade(payloadOf().slice(1))],
    ['a field missing', handMade(payloadOf().slice(0, 5))],
    ['a field too many', handMade([...payloadOf(), 0])],
    ['a position past MAX_POSITION', handMade(payloadOf({ position: MAX_POSITION + 1 }))],
    ['a total past MAX_POSITION', handMade(payloadOf({ total: MAX_POSITION + 1 }))],
    ['a negative position', handMade(payloadOf({ position: -1 }))],
    ['a fractional position', handMade(payloadOf({ position: 1.5 }))],
    ['a position as a string', handMade(['c1', bindingOf(RED_PACKS), '19', 'rp', 0, 3500])],
    ['a fractional time', handMade(payloadOf({ time: 0.5 }))],
    ['an unsafe time', handMade(payloadOf({ time: 2 ** 53 }))],
    ['a time of NaN (JSON null)', handMade(payloadOf({ time: NaN }))],
    ['an id of 129 characters', handMade(payloadOf({ id: 'x'.repeat(129) }))],
    ['a numeric id', handMade(['c1', bindingOf(RED_PACKS), 19, 19, 0, 3500])],
    ['a binding of 65 characters', handMade(payloadOf({ binding: 'b'.repeat(65) }))],
  ])('not a cursor: %s', (_name, text) => {
    expect(decodeCursor(text)).toBeUndefined();
  });

  it('a cursor written with other JSON spacing reads as the same cursor', () => {
    const spaced = Buffer.from(JSON.stringify(payloadOf(), null, 2)).toString('base64url');
    expect(decodeCursor(spaced)).toEqual(cursorOf());
  });

  it('binds a cursor to its list: another channel or filter has another binding', () => {
    const other = 'redPacks:{"channelId":"2812611"}';
    expect(bindingOf(RED_PACKS)).toBe(bindingOf(RED_PACKS));
    expect(bindingOf(RED_PACKS)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(bindingOf(other)).not.toBe(bindingOf(RED_PACKS));
    expect(bindingOf('income:{"channelId":"2812610"}')).not.toBe(bindingOf(RED_PACKS));
    const decoded = decodeCursor(encodeCursor(cursorOf({ binding: bindingOf(other) })));
    expect(decoded?.binding).toBe(bindingOf(other));
    expect(decoded?.binding).not.toBe(bindingOf(RED_PACKS));
  });
});

describe('cursors: properties', () => {
  it('every cursor within the bounds reads back as itself (seed 0xc0de, 5,000 runs)', () => {
    fc.assert(
      fc.property(validCursor, (cursor) => {
        expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
      }),
      { seed: 0xc0de, numRuns: 5000 },
    );
  });

  /** Anything decodeCursor returns is a cursor it would issue again, unchanged. */
  const expectUndefinedOrCanonical = (text: string) => {
    const cursor = decodeCursor(text);
    if (cursor === undefined) return;
    const payload: unknown = JSON.parse(Buffer.from(encodeCursor(cursor), 'base64url').toString());
    expect(isCursorPayload(payload)).toBe(true);
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  };

  it('never throws on any text, and reads only cursors (seed 0xbad, 20,000 runs)', () => {
    const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 600 }),
      fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 600 }),
      fc.base64String({ maxLength: 600 }),
    );
    fc.assert(
      fc.property(anyText, (text) => {
        expectUndefinedOrCanonical(text);
        // No random text came out as a cursor: those that do are built on purpose below.
        expect(decodeCursor(text)).toBeUndefined();
      }),
      { seed: 0xbad, numRuns: 20_000 },
    );
  });

  it('a cursor with one character changed, cut or added is undefined or another well-formed cursor (seed 7, 5,000 runs)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. é';
    const tampered = fc
      .tuple(
        validCursor,
        fc.nat(),
        fc.nat(alphabet.length - 1),
        fc.constantFrom('set', 'cut', 'add'),
      )
      .map(([cursor, at, letter, how]) => {
        const text = encodeCursor(cursor);
        const index = at % text.length;
        const head = text.slice(0, index);
        const tail = text.slice(index + (how === 'add' ? 0 : 1));
        return how === 'cut' ? head + tail : head + alphabet[letter] + tail;
      });
    fc.assert(fc.property(tampered, expectUndefinedOrCanonical), { seed: 7, numRuns: 5000 });
  });

  it('reads a hand-made payload exactly when version c1 admits it (seed 0xc1, 20,000 runs)', () => {
    const count = fc.oneof(
      fc.nat(MAX_POSITION),
      fc.constantFrom(0, MAX_POSITION, MAX_POSITION + 1, -1, 1.5, 2 ** 53, '19', null),
      fc.integer(),
    );
    const text = (max: number) =>
      fc.oneof(
        fc.string({ maxLength: max + 2 }),
        fc.string({ unit: 'grapheme', maxLength: max + 2 }),
        fc.string({ unit: 'binary', minLength: max - 2, maxLength: max + 2 }),
        fc.integer(),
      );
    const fields = fc.tuple(
      fc.constantFrom<unknown>('c1', 'c1', 'c1', 'c0', 'c2', 'C1', '', 1, null),
      fc.oneof(fc.string().map(bindingOf), text(64)),
      count,
      text(128),
      fc.oneof(
        fc.integer(),
        fc.maxSafeInteger(),
        fc.double(),
        fc.constantFrom(2 ** 53, -(2 ** 53)),
      ),
      count,
    );
    // Most payloads have six fields; some lose one or gain one.
    const payload = fc.oneof(
      { arbitrary: fields, weight: 8 },
      { arbitrary: fields.map((all) => all.slice(0, 5)), weight: 1 },
      { arbitrary: fields.map((all) => [...all, 0]), weight: 1 },
    );
    fc.assert(
      fc.property(payload, (value) => {
        const cursorText = handMade(value);
        // What the decoder sees is the payload after JSON (NaN is null, -0 is 0).
        const seen = JSON.parse(JSON.stringify(value)) as unknown[];
        const admitted = isCursorPayload(seen) && cursorText.length <= MAX_CURSOR_LENGTH;
        const decoded = decodeCursor(cursorText);
        if (!admitted) {
          expect(decoded).toBeUndefined();
          return;
        }
        const [, binding, position, id, time, total] = seen;
        expect(decoded).toEqual({ binding, position, id, time, total });
      }),
      { seed: 0xc1, numRuns: 20_000 },
    );
  });

  it('a cursor belongs to one list: different identities never share a binding (seed 16, 5,000 runs)', () => {
    // Identities as the lists make them (endpoint and filters), and pairs that differ by a
    // character anywhere: a channel id, a date, a filter added at the end.
    const identity = fc
      .tuple(
        fc.constantFrom('redPacks', 'income'),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ unit: 'grapheme' })),
      )
      .map(([endpoint, filter]) => `${endpoint}:${JSON.stringify(filter)}`);
    const pair = fc.oneof(
      fc.tuple(identity, identity),
      fc
        .tuple(identity, fc.nat(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }))
        .map(([a, at, letter]): [string, string] => {
          const index = at % (a.length + 1);
          return [a, a.slice(0, index) + letter + a.slice(index + 1)];
        }),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        fc.pre(a !== b);
        expect(bindingOf(a)).not.toBe(bindingOf(b));
        const cursor = decodeCursor(encodeCursor(cursorOf({ binding: bindingOf(a) })));
        expect(cursor?.binding).toBe(bindingOf(a));
        expect(cursor?.binding).not.toBe(bindingOf(b));
      }),
      { seed: 16, numRuns: 5000 },
    );
  });
});

describe('cursors: a bug found here (issue 11)', () => {
  // Found here and fixed: decodeCursor refused text over 512 characters, so an id within the
  // 128-character bound whose JSON passed about 324 bytes of UTF-8 (109 Chinese characters, 55
  // control characters) got a cursor its own connection then rejected. The bound is now derived
  // from the longest fields (MAX_CURSOR_LENGTH). Ids over 128 characters are still refused.
  it('a cursor issued for an id of 128 Chinese characters reads back', () => {
    const cursor = cursorOf({ id: '红'.repeat(128) });
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });
});
