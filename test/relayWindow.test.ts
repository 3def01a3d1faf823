/**
 * The Relay window as a pure function over positions (src/pagination/window.ts), held against
 * graphql-relay's `connectionFromArray` for the records and the spec's algorithm for pageInfo.
 * The same comparison over real HTTP is in connectionWindows.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { relayWindow } from '../src/pagination/window.js';
import {
  positionsOf,
  relayEdges,
  specPageInfo,
  withDefaultFirst,
  type WindowQuery,
} from './support/relay.js';

/** Our window for a list of `length`, as the positions it selects and its flags. */
function ours(length: number, query: WindowQuery) {
  const window = relayWindow({ total: length, ...withDefaultFirst(query) });
  return {
    positions: positionsOf(length).slice(window.start, window.end),
    start: window.start,
    end: window.end,
    hasPreviousPage: window.hasPreviousPage,
    hasNextPage: window.hasNextPage,
  };
}

describe('relay windows: named cases', () => {
  it.each<[string, number, WindowQuery, [number, number], boolean, boolean]>([
    // [case, list length, arguments, [start, end), hasPreviousPage, hasNextPage]
    // The three windows issue 10 found empty or short: `last` counted back from past the end.
    ['first: 50, last: 5 over 40', 40, { first: 50, last: 5 }, [35, 40], true, false],
    ['first: 41, last: 5 over 40', 40, { first: 41, last: 5 }, [35, 40], true, false],
    [
      'first: 999, last: 20 after #2698 over 3,500',
      3500,
      { first: 999, last: 20, after: 2698 },
      [3480, 3500],
      true,
      false,
    ],
    // graphql-relay's own table, and the spec's edges.
    ['the default page', 3500, {}, [0, 20], false, true],
    ['first: 0', 40, { first: 0 }, [0, 0], false, true],
    ['last: 0', 40, { last: 0 }, [40, 40], true, false],
    ['last with no cursor', 40, { last: 3 }, [37, 40], true, false],
    ['first then last', 40, { first: 10, last: 3 }, [7, 10], true, true],
    [
      'first: 2, last: 5 (the spec ignores first here)',
      40,
      { first: 2, last: 5 },
      [0, 2],
      true,
      true,
    ],
    // No count is `first: 20`, in pageInfo too: four records between the cursors are not more.
    ['between the cursors', 40, { after: 10, before: 15 }, [11, 15], true, false],
    ['between the cursors, last', 40, { after: 10, before: 15, last: 2 }, [13, 15], true, true],
    ['cursors that cross', 40, { after: 15, before: 10 }, [16, 16], true, false],
    [
      'cursors that cross, with counts',
      40,
      { after: 15, before: 10, first: 3, last: 3 },
      [16, 16],
      false,
      false,
    ],
    ['after the last record', 40, { after: 39, first: 10 }, [40, 40], true, false],
    ['before the first record', 40, { before: 0, last: 10 }, [0, 0], false, true],
    [
      'an after cursor past the end bounds nothing',
      40,
      { after: 45, first: 3 },
      [0, 3],
      false,
      true,
    ],
    [
      'a before cursor past the end bounds nothing',
      40,
      { before: 45, last: 3 },
      [37, 40],
      true,
      false,
    ],
    ['an empty list', 0, { last: 5 }, [0, 0], false, false],
  ])('%s', (_name, length, query, [start, end], hasPreviousPage, hasNextPage) => {
    const window = ours(length, query);
    expect(window).toMatchObject({ start, end, hasPreviousPage, hasNextPage });
    // The table is right by both oracles, not just by us.
    expect(window.positions).toEqual(relayEdges(length, query));
    expect(specPageInfo(length, query)).toEqual({ hasPreviousPage, hasNextPage });
  });
});

/** Counts from 0 to a little past the list's end, biased to the interesting small values. */
const count = (length: number) =>
  fc.option(fc.oneof(fc.constantFrom(0, 1, length, length + 1), fc.nat(length + 10)), {
    nil: undefined,
  });
/** Cursor positions, a few of them past the end of the list. */
const position = (length: number) => fc.option(fc.nat(length + 3), { nil: undefined });

const listAndQuery = fc
  .oneof({ arbitrary: fc.nat(60), weight: 3 }, { arbitrary: fc.nat(3500), weight: 1 })
  .chain((length) =>
    fc.tuple(
      fc.constant(length),
      fc.record({
        first: count(length),
        last: count(length),
        after: position(length),
        before: position(length),
      }),
    ),
  );

describe('relay windows: property', () => {
  it('selects what connectionFromArray selects, with the spec pageInfo (seed 0x5eed_0a10, 5,000 runs)', () => {
    fc.assert(
      fc.property(listAndQuery, ([length, query]) => {
        const window = ours(length, query);
        expect(0 <= window.start && window.start <= window.end && window.end <= length).toBe(true);
        expect(window.positions).toEqual(relayEdges(length, query));
        expect({
          hasPreviousPage: window.hasPreviousPage,
          hasNextPage: window.hasNextPage,
        }).toEqual(specPageInfo(length, query));
      }),
      { seed: 0x5eed_0a10, numRuns: 5000 },
    );
  });
});
