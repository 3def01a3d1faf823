import { MAX_PAGE_SIZE } from '../src/pagination/page.js';
import { ENDPOINT_IDS, POLYV_ENDPOINTS } from '../src/polyv/endpoints.js';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { planPages, plannedRecordsBound } from '../src/pagination/planner.js';

/** Positions a plan reads, to check it covers the range. */
const covered = ({ pageSize, pageNumbers }: { pageSize: number; pageNumbers: number[] }) => ({
  from: (pageNumbers[0]! - 1) * pageSize,
  to: pageNumbers.at(-1)! * pageSize,
});

describe('page planning', () => {
  it.each([
    // [start, end, expected pageSize, expected pages]
    [0, 20, 20, [1]],
    [20, 40, 20, [2]],
    [0, 1000, 1000, [1]],
    [0, 1, 1, [1]],
    [19, 40, 40, [1]], // cursor record + 20: one page of 40
    [999, 1020, 27, [38]], // 27 × 37 = 999: one page of 27 holds positions 999–1025
    [500, 1100, 600, [1, 2]], // no page size from 600 to 1000 holds [500, 1100): two pages of 600

    [500, 1500, 1000, [1, 2]],
    [999, 2000, 1000, [1, 2]], // 1001 positions (cursor + 1000) still two pages
  ])('[%p, %p) → size %p pages %p', (start, end, size, pages) => {
    const plan = planPages(start, end);
    expect(plan.pageNumbers.length).toBeLessThanOrEqual(2);
    const { from, to } = covered(plan);
    expect(from).toBeLessThanOrEqual(start);
    expect(to).toBeGreaterThanOrEqual(end);
    expect(plan).toEqual({ pageSize: size, pageNumbers: pages });
  });

  it('covers every window of up to 1001 positions with at most two pages, and one when a page fits', () => {
    for (let trial = 0; trial < 5000; trial++) {
      const start = Math.floor(Math.random() * 100_000);
      const length = 1 + Math.floor(Math.random() * 1001);
      const plan = planPages(start, start + length);
      const { from, to } = covered(plan);
      expect(from <= start && to >= start + length).toBe(true);
      expect(plan.pageSize).toBeLessThanOrEqual(1000);
      expect(plan.pageNumbers.length).toBeLessThanOrEqual(2);
      if (length <= 1000 && start % length === 0) expect(plan.pageNumbers).toHaveLength(1);
    }
  });

  // The query limits count a connection's records with this bound (limits/cost.ts); were a plan
  // to fetch more, an operation the estimate let through could fail on its record budget.
  it('fetches no more records than plannedRecordsBound, wherever the range starts (seed 10)', () => {
    const records = (start: number, length: number) => {
      const plan = planPages(start, start + length);
      return plan.pageSize * plan.pageNumbers.length;
    };
    fc.assert(
      fc.property(fc.nat(2_000_000), fc.integer({ min: 1, max: 1002 }), (start, length) => {
        expect(records(start, length)).toBeLessThanOrEqual(plannedRecordsBound(length));
      }),
      { seed: 10, numRuns: 20_000 },
    );
    // The worst starts found by an exhaustive search: short ranges whose single page is larger
    // than two of their own, and the longest ranges, over three pages.
    expect(records(27_719, 2)).toBe(13);
    expect(records(196_558, 3)).toBe(17);
    expect(plannedRecordsBound(2)).toBeGreaterThanOrEqual(17);
    expect(records(999, 1002)).toBe(3000);
    expect(plannedRecordsBound(1002)).toBe(3000);
    expect(plannedRecordsBound(1001)).toBe(2000);
    expect(plannedRecordsBound(20)).toBe(60);
    expect(plannedRecordsBound(500)).toBe(1000);
  });

  it('rejects empty or negative ranges', () => {
    expect(() => planPages(5, 5)).toThrow(RangeError);
    expect(() => planPages(-1, 5)).toThrow(RangeError);
  });
});

describe('page limit', () => {
  it("is Polyv's: every declared endpoint serves pagination's largest page", () => {
    for (const endpoint of ENDPOINT_IDS)
      expect(POLYV_ENDPOINTS[endpoint].maxPageSize).toBeGreaterThanOrEqual(MAX_PAGE_SIZE);
  });
});
