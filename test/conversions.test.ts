import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  allotTypeFromLabel,
  cstDayOf,
  cstDayStartMillis,
  daysBetween,
  fenToDecimal,
  isCalendarDay,
  isoInstant,
  payTypeFromCode,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
  yuanToFenByDigits,
} from '../src/domain/convert.js';
import {
  PAY_TYPES,
  RED_PACK_ALLOT_TYPES,
  RED_PACK_STATUSES,
  RED_PACK_TYPES,
} from '../src/domain/models.js';
import { typeDefs } from '../src/schema/index.js';

describe("the domain's enums", () => {
  const schemaEnum = (name: string) =>
    typeDefs.definitions.flatMap((definition) =>
      definition.kind === 'EnumTypeDefinition' && definition.name.value === name
        ? (definition.values ?? []).map((value) => value.name.value)
        : [],
    );

  it.each([
    ['RedPackAllotType', RED_PACK_ALLOT_TYPES],
    ['RedPackStatus', RED_PACK_STATUSES],
    ['RedPackType', RED_PACK_TYPES],
    ['PayType', PAY_TYPES],
  ])("are schema.graphql's %s, value for value", (name, values) => {
    expect([...values].sort()).toEqual(schemaEnum(name).sort());
    expect(values.length).toBeGreaterThan(0);
  });
});

describe('labels to enums', () => {
  it.each([
    ['随机分配红包', 'RANDOM'],
    ['平均分配红包', 'AVERAGE'],
    ['定向红包', 'UNKNOWN'],
    ['', 'UNKNOWN'],
  ])('allotType %s → %s', (label, value) => expect(allotTypeFromLabel(label)).toBe(value));

  it.each([
    ['进行中', 'IN_PROGRESS'],
    ['已结束', 'ENDED'],
    ['退款中', 'REFUNDING'],
    ['已退款', 'REFUNDED'],
    ['已过期', 'UNKNOWN'],
  ])('status %s → %s', (label, value) => expect(redPackStatusFromLabel(label)).toBe(value));

  it.each([
    ['红包雨', 'RAIN'],
    ['口令红包', 'PASSWORD'],
    ['普通红包', 'NORMAL'],
    ['拼手气红包', 'UNKNOWN'],
    ['toString', 'UNKNOWN'],
  ])('redPackType %s → %s', (label, value) => expect(redPackTypeFromLabel(label)).toBe(value));

  it.each([
    ['cash', 'CASH'],
    ['pay', 'PAY_PER_VIEW'],
    ['good', 'GIFT'],
    ['point', 'POINT_GIFT'],
    ['coupon', 'UNKNOWN'],
    ['constructor', 'UNKNOWN'],
  ])('payType %s → %s', (code, value) => expect(payTypeFromCode(code)).toBe(value));
});

describe('money', () => {
  it.each([
    [0.98, 98],
    [0.01, 1],
    [0, 0],
    [20000, 2000000],
    [0.1 + 0.2, 30],
    [1.1 * 3, 330],
    [19.99, 1999],
    // More than two decimals: half away from zero, on the decimal digits Polyv sent.
    [1.005, 101],
    [2.675, 268],
    [1.004, 100],
    [-1.005, -101],
    [-0.001, 0],
    [1e-7, 0],
    [123456789.12, 12345678912],
  ])('%p yuan is %p fen', (yuan, fen) => expect(yuanToFen(yuan)).toBe(fen));

  it('takes the fast path only where it agrees with the exact digits (any double)', () => {
    const outcome = (convert: (yuan: number) => number, yuan: number) => {
      try {
        return convert(yuan);
      } catch {
        return 'invalid';
      }
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: false }),
          fc.double({ min: -2e9, max: 2e9 }),
          // Half a fen, where rounding is decided by the third decimal, and next to it.
          fc.integer({ min: -1e9, max: 1e9 }).map((fen) => (2 * fen + 1) / 200),
          fc.integer({ min: -1e9, max: 1e9 }).map((tenths) => (tenths + 0.5) / 1000),
          fc.integer({ min: -1e11, max: 1e11 }).map((fen) => fen / 100),
        ),
        (yuan) => expect(outcome(yuanToFen, yuan)).toEqual(outcome(yuanToFenByDigits, yuan)),
      ),
      { numRuns: 20_000 },
    );
  });

  it('reads every amount of at most two decimals exactly, against integer arithmetic on its text', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 11n), max: 10n ** 11n }),
        fc.boolean(),
        (fen, oneDecimal) => {
          const whole = fen / 100n;
          const cents = (fen < 0n ? -fen : fen) % 100n;
          const sign = fen < 0n && whole === 0n ? '-' : '';
          const text = oneDecimal
            ? `${sign}${whole}.${cents / 10n}` // e.g. 12.3, read as 1230 fen
            : `${sign}${whole}.${String(cents).padStart(2, '0')}`;
          const expected = oneDecimal ? (fen / 10n) * 10n : fen;
          expect(yuanToFen(Number(text))).toBe(Number(expected));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('rejects what is not an amount', () => {
    expect(() => yuanToFen(Number.NaN)).toThrow('not a valid amount');
    expect(() => yuanToFen(Infinity)).toThrow('not a valid amount');
    expect(() => yuanToFen(1e300)).toThrow('not a valid amount');
  });

  it.each([
    [98, '0.98'],
    [1, '0.01'],
    [0, '0.00'],
    [100, '1.00'],
    [2000000, '20000.00'],
    [-5, '-0.05'],
    [-123, '-1.23'],
    [-100, '-1.00'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
    [-Number.MAX_SAFE_INTEGER, '-90071992547409.91'],
  ])('%p fen is "%s"', (fen, decimal) => expect(fenToDecimal(fen)).toBe(decimal));

  it('writes any safe integer of fen as its digits with the point two from the end (seed 98, 20,000 runs)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (fen) => {
        const digits = String(Math.abs(fen)).padStart(3, '0');
        const written = `${fen < 0 ? '-' : ''}${digits.slice(0, -2)}.${digits.slice(-2)}`;
        expect(fenToDecimal(fen)).toBe(written);
      }),
      { seed: 98, numRuns: 20_000 },
    );
  });

  it('sums in fen exactly where floats drift', () => {
    const yuan = Array.from({ length: 1000 }, () => 0.1);
    const floatSum = yuan.reduce((a, b) => a + b, 0);
    expect(floatSum).not.toBe(100);
    expect(fenToDecimal(yuan.map(yuanToFen).reduce((a, b) => a + b, 0))).toBe('100.00');
  });
});

describe('China Standard Time days', () => {
  it('places instants on either side of CST midnight on the right day', () => {
    expect(cstDayOf(Date.parse('2026-10-01T23:59:59.999+08:00'))).toBe('2026-10-01');
    expect(cstDayOf(Date.parse('2026-10-02T00:00:00.000+08:00'))).toBe('2026-10-02');
    // 16:00 UTC is already the next day in China.
    expect(cstDayOf(new Date('2026-10-01T16:00:00.000Z'))).toBe('2026-10-02');
    expect(cstDayOf(new Date('2026-10-01T15:59:59.999Z'))).toBe('2026-10-01');
  });

  it('starts a CST day at 16:00 UTC the day before', () => {
    expect(new Date(cstDayStartMillis('2026-10-02')).toISOString()).toBe(
      '2026-10-01T16:00:00.000Z',
    );
  });

  it.each([
    ['2026-02-28', true],
    ['2024-02-29', true],
    ['2026-02-29', false],
    ['2026-02-30', false],
    ['2026-13-01', false],
    ['2026-1-01', false],
    ['2026-01-01T00:00', false],
    ['', false],
    ['0000-01-01', false],
    ['1969-12-31', false],
    ['1970-01-01', true],
  ])('%s is a calendar day: %p', (text, valid) => expect(isCalendarDay(text)).toBe(valid));

  it('lists every day of a range, both ends included', () => {
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
    ]);
    expect(daysBetween('2026-03-02', '2026-03-02')).toEqual(['2026-03-02']);
  });
});

describe('isoInstant writes what Date#toISOString writes', () => {
  it.each([
    0,
    1,
    999,
    86_399_999,
    86_400_000,
    951_782_400_000, // 2000-02-29, a leap day of a century divisible by 400
    4_107_542_400_000, // 2100-03-01, after the 28th February of a century that is not leap
    1_763_512_200_000,
    253_402_300_799_999, // the last four-digit year's last millisecond
    253_402_300_800_000, // +010000-01-01: toISOString's six-digit years
    -1, // 1969: before the epoch
    -62_198_755_200_000, // year 0
    1.5, // not a whole millisecond
    8.64e15, // the last instant a Date holds
  ])('at %d ms', (ms) => {
    expect(isoInstant(ms)).toBe(new Date(ms).toISOString());
  });

  it('refuses what toISOString refuses (NaN, beyond a Date)', () => {
    expect(() => isoInstant(Number.NaN)).toThrow(RangeError);
    expect(() => isoInstant(8.64e15 + 1)).toThrow(RangeError);
  });

  it('at any millisecond from 1970 to year 9999 and around (seed 1970, 50,000 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e13, max: 2.6e14 }), (ms) => {
        expect(isoInstant(ms)).toBe(new Date(ms).toISOString());
      }),
      { seed: 1970, numRuns: 50_000 },
    );
  });

  it('on every day of 400 years (a whole Gregorian cycle), at its first and last millisecond', () => {
    for (let day = 0; day < 146_097; day++) {
      const start = day * 86_400_000;
      const end = start + 86_399_999;
      if (isoInstant(start) !== new Date(start).toISOString())
        expect(isoInstant(start)).toBe(new Date(start).toISOString());
      if (isoInstant(end) !== new Date(end).toISOString())
        expect(isoInstant(end)).toBe(new Date(end).toISOString());
    }
  });
});
