/**
 * The emulator's answer bytes (wire.ts encodeJson): a page is written record by record, and a
 * record's bytes (and a page's) are kept for the next call. Whatever is kept, the bytes must be
 * exactly those of JSON.stringify over the answer, also after the store is edited in place.
 */
import { describe, expect, it } from '@jest/globals';
import { handleEndpoint, type EmulatedEndpoint } from '../endpoints.js';
import { encodeJson } from '../wire.js';
import {
  createDemoDataset,
  DEMO_CREDENTIALS,
  insertReceive,
  isClaimable,
  type DemoDataset,
  type EmulatedRedPack,
} from '../index.js';
import { signedParams } from '../../src/polyv/sign.js';
import type { ParamValue } from '../../src/polyv/sign.js';

const NOW = Date.UTC(2026, 10, 19, 12);
const CHANNEL = '2812610';

function answer(
  store: DemoDataset,
  endpoint: EmulatedEndpoint,
  params: Record<string, ParamValue>,
  path: Record<string, string> = {},
) {
  const reply = handleEndpoint(endpoint, {
    params: signedParams(params, DEMO_CREDENTIALS, NOW),
    path,
    context: { store, credentials: DEMO_CREDENTIALS, now: NOW, requestId: 'a'.repeat(32) },
  });
  return {
    bytes: Buffer.concat(encodeJson(reply.body, reply.records)),
    expected: Buffer.from(JSON.stringify(reply.body), 'utf8'),
  };
}

const redPacks = (store: DemoDataset, pageNumber?: number, pageSize?: number) =>
  answer(store, 'redPackStatistics', { channelId: CHANNEL, pageNumber, pageSize });

describe('the emulator writes an answer as JSON.stringify does', () => {
  it('for every page size and paging edge, twice (the second time from kept bytes)', () => {
    const store = createDemoDataset(42, DEMO_CREDENTIALS.userId);
    const calls = [
      () => redPacks(store, 1, 100),
      () => redPacks(store, 2, 100),
      () => redPacks(store, 35, 100),
      () => redPacks(store, 36, 100),
      () => redPacks(store, 1, 1),
      () => redPacks(store),
      () => answer(store, 'redPackStatistics', { channelId: '999' }),
      () =>
        answer(
          store,
          'incomeDetail',
          { startDate: '2026-08-01', endDate: '2026-11-19', page: 1, pageSize: 1000 },
          { userId: DEMO_CREDENTIALS.userId },
        ),
      () =>
        answer(
          store,
          'incomeDetail',
          { startDate: '2026-08-01', endDate: '2026-11-19', page: 99, pageSize: 20 },
          { userId: DEMO_CREDENTIALS.userId },
        ),
    ];
    for (let round = 0; round < 2; round++) {
      for (const call of calls) {
        const { bytes, expected } = call();
        expect(bytes.equals(expected)).toBe(true);
      }
    }
  });

  it('after the store is edited in place, never from stale kept bytes', () => {
    const store = createDemoDataset(42, DEMO_CREDENTIALS.userId);
    const packs = store.redPacks.get(CHANNEL)!;
    const edits: ((list: EmulatedRedPack[]) => void)[] = [
      (list) => (list[0]!.nickName = '改过的名字'),
      (list) => (list[3]!.receives[0]!.amountFen += 1),
      (list) => (list[5]!.status = list[5]!.status === '已退款' ? '退款中' : '已退款'),
      (list) => (list[6]!.amountFen = 1e300),
      (list) => list[7]!.receives.pop(),
      (list) => (list[8]!.receives[0]!.nickName = 'x"\\\u2028'),
    ];
    let before = redPacks(store, 1, 100).bytes;
    for (const edit of edits) {
      edit(packs);
      const { bytes, expected } = redPacks(store, 1, 100);
      expect(bytes.equals(expected)).toBe(true);
      expect(bytes.equals(before)).toBe(false);
      before = bytes;
    }
    // A claim as live activity adds it: the pack's list of receives grows.
    const claimable = packs.slice(0, 100).find((pack) => isClaimable(pack));
    expect(claimable).toBeDefined();
    insertReceive(store, claimable!.redPackId, { amountFen: 1 });
    const { bytes, expected } = redPacks(store, 1, 100);
    expect(bytes.equals(expected)).toBe(true);
    expect(bytes.equals(before)).toBe(false);
  });
});
