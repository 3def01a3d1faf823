/**
 * Live red-pack activity in the emulator (issue 14, point 7): claims into red packs in
 * progress, and a schedule that makes new red packs and claims on a timer, so that the
 * gateway's subscriptions have CREATED and UPDATED events to find. Checked over real HTTP
 * with signed Polyv requests; expectations in fen are computed here from the wire's yuan.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  DEMO_CREDENTIALS,
  createDemoDataset,
  insertReceive,
  insertRedPack,
  isClaimable,
  startEmulator,
  type DemoDataset,
  type EmulatedRedPack,
  type LiveScheduleStatus,
  type PolyvEmulator,
} from '../index.js';
import { liveTick, type LiveTarget } from '../live.js';
import { signParams } from '../../src/polyv/sign.js';

const RED_PACK_PATH = '/live/v4/channel/red-pack/statistics/list';

interface WireReceive {
  userId: string;
  amount: number;
  createdTime: number;
}
interface WireRedPack {
  redPackId: string;
  amount: number;
  balance: number;
  status: string;
  createdTime: number;
  redPackReceiveList: WireReceive[];
}
interface WirePage {
  totalItems: number;
  contents: WireRedPack[];
}

/** Yuan on the wire back to fen; the emulator writes fen / 100, so rounding is exact. */
const fen = (yuan: number): number => Math.round(yuan * 100);

/** One page of a channel's red packs, through a signed request as the gateway sends it. */
async function redPackPage(
  emulator: PolyvEmulator,
  channelId: string,
  pageSize = 10,
): Promise<WirePage> {
  const params = {
    appId: DEMO_CREDENTIALS.appId,
    timestamp: String(Date.now()),
    channelId,
    pageSize: String(pageSize),
  };
  const query = new URLSearchParams({
    ...params,
    sign: signParams(params, DEMO_CREDENTIALS.appSecret),
  });
  const response = await fetch(`${emulator.url}${RED_PACK_PATH}?${query.toString()}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: WirePage }).data;
}

async function control(
  emulator: PolyvEmulator,
  method: string,
  action: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${emulator.url}/__emulator/${action}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const claimedFen = (pack: EmulatedRedPack): number =>
  pack.receives.reduce((sum, receive) => sum + receive.amountFen, 0);

/** The red packs of a channel as the next poll would see them: ids, balances, claim counts. */
function snapshot(store: DemoDataset, channelId: string): string {
  const packs = store.redPacks.get(channelId) ?? [];
  return JSON.stringify(packs.map((pack) => [pack.redPackId, pack.status, pack.receives.length]));
}

describe('claims into red packs (insertReceive, POST /__emulator/receives)', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it('inserts a red pack in progress with nobody having claimed it', () => {
    const pack = emulator.insertRedPack('2812614');
    expect(pack.status).toBe('进行中');
    expect(pack.receives).toEqual([]);
    expect(pack.packetCount).toBeGreaterThanOrEqual(1);
    expect(isClaimable(pack)).toBe(true);
  });

  it('shows a claim in the signed list answer, the balance reduced by exactly its amount', async () => {
    const pack = emulator.insertRedPack('2812612', { amountFen: 1000, packetCount: 4 });
    const before = await redPackPage(emulator, '2812612');
    expect(before.contents[0]).toMatchObject({ redPackId: pack.redPackId, balance: 10 });
    const startedAt = Date.now();

    const reply = await control(emulator, 'POST', 'receives', { redPackId: pack.redPackId });
    expect(reply.status).toBe(201);
    const after = await redPackPage(emulator, '2812612');
    const head = after.contents[0]!;
    expect(reply.body).toEqual(head);
    expect(head.redPackId).toBe(pack.redPackId);
    expect(head.redPackReceiveList).toHaveLength(1);
    const claim = head.redPackReceiveList[0]!;
    expect(fen(claim.amount)).toBeGreaterThanOrEqual(1);
    expect(fen(head.balance)).toBe(1000 - fen(claim.amount));
    // Stamped with the emulator clock (the real one here), not placed in the demo period.
    expect(claim.createdTime).toBeGreaterThanOrEqual(startedAt);
    expect(claim.createdTime).toBeLessThanOrEqual(Date.now());
    expect(head.status).toBe('进行中');
    // Claiming changes nothing about which red packs the list holds, or their order.
    expect(after.totalItems).toBe(before.totalItems);
    expect(after.contents.map((item) => item.redPackId)).toEqual(
      before.contents.map((item) => item.redPackId),
    );
  });

  it('claims into an older red pack without moving it to the head', async () => {
    const packs = emulator.store.redPacks.get('2812610')!;
    const index = packs.findIndex((pack, at) => at >= 5 && isClaimable(pack));
    expect(index).toBeGreaterThanOrEqual(5);
    const target = packs[index]!;
    const order = packs.map((pack) => pack.redPackId);
    const claimedBefore = claimedFen(target);

    expect(
      (await control(emulator, 'POST', 'receives', { redPackId: target.redPackId })).status,
    ).toBe(201);
    expect(packs.map((pack) => pack.redPackId)).toEqual(order);
    const page = await redPackPage(emulator, '2812610', index + 1);
    const listed = page.contents[index]!;
    expect(listed.redPackId).toBe(target.redPackId);
    const claims = listed.redPackReceiveList.map((receive) => fen(receive.amount));
    expect(claims.slice(0, -1).reduce((sum, amount) => sum + amount, 0)).toBe(claimedBefore);
    expect(fen(listed.balance)).toBe(target.amountFen - claimedBefore - claims.at(-1)!);
    // Claims stay oldest first: the new one follows the earlier ones and the red pack itself.
    const times = [listed.createdTime, ...listed.redPackReceiveList.map((r) => r.createdTime)];
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('ends a red pack when its packets are claimed, with the balance exactly spent', async () => {
    const pack = emulator.insertRedPack('2812614', { amountFen: 100, packetCount: 3 });
    for (let claim = 1; claim <= 3; claim += 1) {
      const reply = await control(emulator, 'POST', 'receives', { redPackId: pack.redPackId });
      expect(reply.status).toBe(201);
      expect(reply.body['status']).toBe(claim < 3 ? '进行中' : '已结束');
    }
    const listed = (await redPackPage(emulator, '2812614')).contents[0]!;
    expect(listed.redPackId).toBe(pack.redPackId);
    expect(listed.status).toBe('已结束');
    expect(listed.balance).toBe(0);
    expect(listed.redPackReceiveList.map((receive) => fen(receive.amount))).toHaveLength(3);
    expect(new Set(listed.redPackReceiveList.map((receive) => receive.userId)).size).toBe(3);

    const refused = await control(emulator, 'POST', 'receives', { redPackId: pack.redPackId });
    expect(refused.status).toBe(400);
    expect(refused.body['error']).toMatch(/cannot be claimed/);
  });

  it('pays an even split the same share per packet, leaving the odd fen unclaimed', () => {
    const pack = emulator.insertRedPack('2812614', {
      amountFen: 1001,
      packetCount: 4,
      allotType: '平均分配红包',
    });
    for (let claim = 0; claim < 4; claim += 1) emulator.insertReceive(pack.redPackId);
    expect(pack.receives.map((receive) => receive.amountFen)).toEqual([250, 250, 250, 250]);
    expect(pack.status).toBe('已结束');
    expect(pack.amountFen - claimedFen(pack)).toBe(1);
  });

  it('answers 400 for an unknown, missing or finished red pack, changing nothing', async () => {
    const before = snapshot(emulator.store, '2812610');
    const unknown = await control(emulator, 'POST', 'receives', { redPackId: 'f'.repeat(32) });
    expect(unknown).toEqual({
      status: 400,
      body: {
        error: `insertReceive: ${'f'.repeat(32)} is not a red pack of the demo account`,
        code: 'REFUSED',
      },
    });
    expect(await control(emulator, 'POST', 'receives', {})).toEqual({
      status: 400,
      body: {
        error: 'redPackId is required: a string of 1 to 64 characters',
        code: 'INVALID_FIELD',
        field: 'redPackId',
        expected: 'a string of 1 to 64 characters',
      },
    });
    expect((await control(emulator, 'POST', 'receives', { redPackId: 7 })).status).toBe(400);
    const ended = emulator.store.redPacks.get('2812610')!.find((pack) => pack.status === '已结束')!;
    expect(
      (await control(emulator, 'POST', 'receives', { redPackId: ended.redPackId })).status,
    ).toBe(400);
    const refunded = emulator.store.redPacks
      .get('2812610')!
      .find((pack) => pack.status === '已退款' && pack.receives.length < pack.packetCount)!;
    expect(() => emulator.insertReceive(refunded.redPackId)).toThrow(RangeError);
    expect(snapshot(emulator.store, '2812610')).toBe(before);
  });

  it('refuses a packet count that does not fit the amount', () => {
    const count = emulator.store.redPacks.get('2812614')!.length;
    for (const packetCount of [0, 11, 1.5]) {
      expect(() => emulator.insertRedPack('2812614', { amountFen: 10, packetCount })).toThrow(
        RangeError,
      );
    }
    expect(emulator.store.redPacks.get('2812614')).toHaveLength(count);
    expect(emulator.insertRedPack('2812614', { amountFen: 10, packetCount: 10 }).packetCount).toBe(
      10,
    );
  });

  it('refuses an amount beyond the balance and a time before the last claim', () => {
    const pack = emulator.insertRedPack('2812614', { amountFen: 50, packetCount: 5 });
    expect(() => emulator.insertReceive(pack.redPackId, { amountFen: 51 })).toThrow(RangeError);
    expect(() => emulator.insertReceive(pack.redPackId, { amountFen: 0 })).toThrow(RangeError);
    expect(() =>
      emulator.insertReceive(pack.redPackId, { createdTime: pack.createdTime - 1 }),
    ).toThrow(RangeError);
    expect(pack.receives).toEqual([]);
    emulator.insertReceive(pack.redPackId, { amountFen: 50 });
    expect(pack.status).toBe('已结束');
  });

  it('is deterministic: the same claims on the same seed give the same records', () => {
    const a = createDemoDataset(7);
    const b = createDemoDataset(7);
    const packA = insertRedPack(a, '2812612');
    const packB = insertRedPack(b, '2812612');
    for (let claim = 0; claim < Math.min(3, packA.packetCount); claim += 1) {
      expect(insertReceive(a, packA.redPackId)).toEqual(insertReceive(b, packB.redPackId));
    }
    expect(a).toEqual(b);
  });
});

describe('any sequence of claims keeps a red pack consistent (property)', () => {
  // One dataset for every run: each run inserts its own red pack, and building the account
  // takes longer than a hundred runs.
  let store: DemoDataset;
  beforeAll(() => {
    store = createDemoDataset(42);
  });

  const redPackArbitrary = fc
    .record({
      amountFen: fc.integer({ min: 1, max: 2_000_000 }),
      packetCount: fc.integer({ min: 1, max: 40 }),
      allotType: fc.constantFrom('随机分配红包', '平均分配红包', '定向红包'),
    })
    // A packet holds at least a fen.
    .map((plan) => ({ ...plan, packetCount: Math.min(plan.packetCount, plan.amountFen) }));
  /** A claim at the default share, or at an amount of the test's choosing (maybe too much). */
  const claimArbitrary = fc.option(fc.integer({ min: 1, max: 2_000_000 }), { nil: undefined });

  function expectConsistent(pack: EmulatedRedPack): void {
    const balance = pack.amountFen - claimedFen(pack);
    expect(balance).toBeGreaterThanOrEqual(0);
    expect(pack.receives.length).toBeLessThanOrEqual(pack.packetCount);
    expect(
      pack.receives.every(
        (receive) => Number.isSafeInteger(receive.amountFen) && receive.amountFen >= 1,
      ),
    ).toBe(true);
    const spent = balance === 0 || pack.receives.length === pack.packetCount;
    expect(pack.status).toBe(spent ? '已结束' : '进行中');
    const times = [pack.createdTime, ...pack.receives.map((receive) => receive.createdTime)];
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(new Set(pack.receives.map((receive) => receive.userId)).size).toBe(pack.receives.length);
  }

  it('balance = amount − Σ claims ≥ 0, claims ≤ packets, ended exactly when spent', () => {
    fc.assert(
      fc.property(redPackArbitrary, fc.array(claimArbitrary, { maxLength: 50 }), (plan, claims) => {
        const pack = insertRedPack(store, '2812614', plan);
        for (const amountFen of claims) {
          const claimable = isClaimable(pack);
          const balance = pack.amountFen - claimedFen(pack);
          const count = pack.receives.length;
          const accepted = claimable && (amountFen === undefined || amountFen <= balance);
          if (accepted) {
            const claimed = insertReceive(store, pack.redPackId, { amountFen });
            expect(claimed).toBe(pack);
            expect(pack.receives).toHaveLength(count + 1);
            const amount = pack.receives.at(-1)!.amountFen;
            if (amountFen !== undefined) expect(amount).toBe(amountFen);
            expect(pack.amountFen - claimedFen(pack)).toBe(balance - amount);
          } else {
            expect(() => insertReceive(store, pack.redPackId, { amountFen })).toThrow(RangeError);
            expect(pack.receives).toHaveLength(count);
          }
          expectConsistent(pack);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('default claims drain a red pack: a random split to 0, an even one packet by packet', () => {
    fc.assert(
      fc.property(redPackArbitrary, (plan) => {
        const pack = insertRedPack(store, '2812614', plan);
        while (isClaimable(pack)) {
          insertReceive(store, pack.redPackId);
          expectConsistent(pack);
        }
        expect(pack.status).toBe('已结束');
        // Each claim leaves a fen for every later packet, so every packet gets claimed.
        expect(pack.receives).toHaveLength(plan.packetCount);
        const balance = pack.amountFen - claimedFen(pack);
        if (plan.allotType === '平均分配红包') {
          const share = Math.floor(plan.amountFen / plan.packetCount);
          expect(pack.receives.every((receive) => receive.amountFen === share)).toBe(true);
          expect(balance).toBe(plan.amountFen % plan.packetCount);
        } else {
          expect(balance).toBe(0);
        }
        expect(() => insertReceive(store, pack.redPackId)).toThrow(RangeError);
      }),
      { numRuns: 150 },
    );
  });
});

describe('the live schedule (POST/DELETE /__emulator/live, startLive)', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it('makes new red packs and claims within a few ticks, visible to a poll, and stops on DELETE', async () => {
    const channelId = '2812612';
    const before = await redPackPage(emulator, channelId, 100);
    const knownIds = new Set(before.contents.map((pack) => pack.redPackId));
    const startedAt = Date.now();

    const started = await control(emulator, 'POST', 'live', { channelId, everyMs: 20 });
    expect(started).toEqual({
      status: 200,
      body: {
        live: [{ channelId, everyMs: 20, ticks: 0, redPacksCreated: 0, receivesAdded: 0 }],
      },
    });
    await waitFor(async () => {
      const stats = await control(emulator, 'GET', 'stats');
      const [running] = stats.body['live'] as LiveScheduleStatus[];
      return (running?.ticks ?? 0) >= 6;
    });

    const stopped = await control(emulator, 'DELETE', 'live', { channelId });
    expect(stopped.status).toBe(200);
    expect(stopped.body['live']).toEqual([]);
    const [done] = stopped.body['stopped'] as LiveScheduleStatus[];
    expect(done).toMatchObject({ channelId, everyMs: 20 });
    // A new red pack on ticks 0, 4, 8…, a claim on the others unless nothing could be claimed.
    expect(done!.redPacksCreated).toBeGreaterThanOrEqual(Math.ceil(done!.ticks / 4));
    expect(done!.receivesAdded).toBeGreaterThanOrEqual(1);
    expect(done!.redPacksCreated + done!.receivesAdded).toBe(done!.ticks);

    const after = await redPackPage(emulator, channelId, 100);
    expect(after.totalItems).toBe(before.totalItems + done!.redPacksCreated);
    const created = after.contents.slice(0, done!.redPacksCreated);
    expect(created.every((pack) => !knownIds.has(pack.redPackId))).toBe(true);
    const liveClaims = after.contents.flatMap((pack) =>
      pack.redPackReceiveList.filter((receive) => receive.createdTime >= startedAt),
    );
    expect(liveClaims).toHaveLength(done!.receivesAdded);
    for (const pack of after.contents) {
      const claimed = pack.redPackReceiveList.reduce((sum, r) => sum + fen(r.amount), 0);
      expect(fen(pack.balance)).toBe(fen(pack.amount) - claimed);
    }

    // Stopped: several intervals later, nothing has changed.
    const frozen = snapshot(emulator.store, channelId);
    await sleep(120);
    expect(snapshot(emulator.store, channelId)).toBe(frozen);
    expect((await control(emulator, 'GET', 'stats')).body['live']).toEqual([]);
  });

  it('restarts a channel already live, runs channels side by side, and DELETE stops all', async () => {
    emulator.startLive('2812614', 1000);
    emulator.startLive('2812614', 500);
    emulator.startLive('2812613');
    expect(emulator.liveSchedules.map(({ channelId, everyMs }) => [channelId, everyMs])).toEqual([
      ['2812614', 500],
      ['2812613', 2000],
    ]);
    const stopped = await control(emulator, 'DELETE', 'live');
    expect((stopped.body['stopped'] as LiveScheduleStatus[]).map((s) => s.channelId)).toEqual([
      '2812614',
      '2812613',
    ]);
    expect(emulator.liveSchedules).toEqual([]);
  });

  it('answers 400 for an unknown channel or a bad interval', async () => {
    const bad = [
      { channelId: '42' },
      {},
      { channelId: '2812610', everyMs: 1 },
      { channelId: '2812610', everyMs: 'often' },
    ];
    for (const body of bad)
      expect((await control(emulator, 'POST', 'live', body)).status).toBe(400);
    expect((await control(emulator, 'DELETE', 'live', { channelId: true })).status).toBe(400);
    expect(emulator.liveSchedules).toEqual([]);
    expect(() => emulator.startLive('2812610', Number.NaN)).toThrow(RangeError);
  });

  it('keeps no timer holding the process open, and stops on close()', async () => {
    const own = await startEmulator();
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout');
    try {
      const before = timers().length;
      own.startLive('2812614', 10);
      expect(timers()).toHaveLength(before);
      await waitFor(() => (own.liveSchedules[0]?.ticks ?? 0) >= 2);
    } finally {
      await own.close();
    }
    expect(own.liveSchedules).toEqual([]);
    const frozen = snapshot(own.store, '2812614');
    await sleep(80);
    expect(snapshot(own.store, '2812614')).toBe(frozen);
    expect(() => own.startLive('2812614', 10)).toThrow(/closed/);
  });
});

describe('liveTick', () => {
  /** The emulator's part, with the dataset's own default claim times (no clock). */
  const targetOf = (store: DemoDataset): LiveTarget => ({
    store,
    insertRedPack: (channelId) => insertRedPack(store, channelId),
    insertReceive: (redPackId) => insertReceive(store, redPackId),
  });

  it('creates on ticks 0, 4, 8…, claims near the head in between, the same on the same seed', () => {
    const a = createDemoDataset(42);
    const b = createDemoDataset(42);
    const kinds: string[] = [];
    for (let tick = 0; tick < 12; tick += 1) {
      const change = liveTick(targetOf(a), '2812613', tick);
      expect(liveTick(targetOf(b), '2812613', tick)).toEqual(change);
      kinds.push(change.kind === 'redPackCreated' ? 'C' : 'r');
      if (change.kind === 'receiveAdded') {
        const position = a.redPacks.get('2812613')!.indexOf(change.redPack);
        expect(position).toBeLessThan(10);
      }
    }
    // 2812613 starts with no red packs, so the only ones to claim are the live ones.
    expect(kinds.join('')).toMatch(/^C[rC]{3}C[rC]{3}C[rC]{3}$/);
    expect(kinds.filter((kind) => kind === 'r').length).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('creates instead when nothing near the head can be claimed', () => {
    const store = createDemoDataset(42);
    const head = store.redPacks.get('2812611')!.slice(0, 10);
    for (const pack of head) pack.status = '已结束';
    const change = liveTick(targetOf(store), '2812611', 1);
    expect(change.kind).toBe('redPackCreated');
  });
});
