/**
 * The emulator's demo account: a deterministic, seeded dataset shaped like what Polyv
 * returns, plus helpers that add records at the head as a live channel would.
 *
 * Money is held as integer fen and times as epoch milliseconds; the conversion to
 * Polyv's yuan floats happens only when a response is written (see wire.ts), so that
 * tests can compute exact expectations from this store.
 */
import {
  DECIMAL_DIGITS,
  HEX_DIGITS,
  OPENID_CHARACTERS,
  chance,
  createRandom,
  pick,
  pickWeighted,
  randomInt,
  randomString,
  sample,
  type RandomSource,
} from './random.js';

/** The Polyv account id (userId) the demo data belongs to. */
export const DEMO_USER_ID = 'demo-user-01';

/** The span generated records fall in: [start, end) in epoch ms, CST days from first to last. */
export interface DataPeriod {
  readonly firstDay: string;
  readonly lastDay: string;
  readonly start: number;
  readonly end: number;
}

/** How many China Standard Time days the demo data covers, up to its last day. */
export const DATA_PERIOD_DAYS = 111;
/**
 * The last day of the data unless another is asked for: fixed, so that the data, and therefore
 * test expectations, never drift. A demo asks for yesterday instead (the gateway's and the
 * command line's default), so that its data is recent.
 */
export const DEFAULT_LAST_DAY = '2026-11-19';

/**
 * The last day of a demo's data: yesterday in China Standard Time, so that the data ends as
 * today begins and red packs sent from now on (live activity) follow it.
 */
export function demoLastDay(now: number): string {
  return cstDay(now - DAY);
}

/**
 * The period whose last day (China Standard Time, yyyy-MM-dd) is `lastDay`. Datasets of one seed
 * ending on different days differ only by that many whole days: the same records, shifted.
 */
export function dataPeriod(lastDay: string): DataPeriod {
  const lastDayStart = Date.parse(`${lastDay}T00:00:00+08:00`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(lastDay) || cstDay(lastDayStart) !== lastDay) {
    throw new RangeError(`lastDay must be a real calendar day written yyyy-MM-dd: ${lastDay}`);
  }
  const end = lastDayStart + DAY;
  const start = end - DATA_PERIOD_DAYS * DAY;
  return { firstDay: cstDay(start), lastDay, start, end };
}

/** One channel of the demo account and how much data it is generated with. */
export interface DemoChannel {
  readonly channelId: string;
  readonly name: string;
  readonly redPackCount: number;
  readonly incomeCount: number;
  /** Live sessions (场次) in chronological order; each owns a consecutive slice of the period. */
  readonly sessionIds: readonly string[];
}

/**
 * The channels of the demo account. The sizes are chosen for the gateway's tests: one
 * channel larger than any single Polyv page (3,500 > 1,000), a mid-size and a small one,
 * one with income but no red packs, and one with just a handful.
 */
export const DEMO_CHANNELS: readonly DemoChannel[] = [
  {
    channelId: '2812610',
    name: '秋季新品发布会',
    redPackCount: 3500,
    incomeCount: 240,
    sessionIds: [
      'g8h352spmc',
      'h2k4m6n8p0',
      'j3m5p7r9t1',
      'k4n6q8s0u2',
      'm5p7r9t1v3',
      'n6q8s0u2w4',
    ],
  },
  {
    channelId: '2812611',
    name: '周末直播间',
    redPackCount: 300,
    incomeCount: 150,
    sessionIds: ['p7r9t1v3x5', 'q8s0u2w4y6', 'r9t1v3x5z7'],
  },
  {
    channelId: '2812612',
    name: '讲师公开课',
    redPackCount: 40,
    incomeCount: 90,
    sessionIds: ['s0u2w4y6a8', 't1v3x5z7b9'],
  },
  {
    channelId: '2812613',
    name: '付费课程',
    redPackCount: 0,
    incomeCount: 80,
    sessionIds: ['u2w4y6a8c0'],
  },
  {
    channelId: '2812614',
    name: '内部测试',
    redPackCount: 5,
    incomeCount: 34,
    sessionIds: ['v3x5z7b9d1'],
  },
];

/**
 * A real channel number that belongs to another Polyv account (it is the one in Polyv's
 * own income example): asking for it is "access forbidden", not "channel not found".
 */
export const FOREIGN_CHANNEL_ID = '1965681';

/**
 * The channel added by the `bigChannelRedPacks` option (`--big-channel-red-packs N`): N red packs
 * for benchmarks of whole-channel summaries, with one to three packets each to keep memory sane.
 */
export const BIG_CHANNEL_ID = '2812699';
const BIG_CHANNEL_SESSION = 'w4y6a8c0e2';
/** Its own random sequence, so the rest of the demo data is the same with or without it. */
const BIG_CHANNEL_SEED_SALT = 0x2812699;

/**
 * The channels added by the `extraChannels` option (`--extra-channels N`): 2812700, 2812701, …,
 * each with a few red packs, for benchmarks that follow many channels at once.
 */
export const EXTRA_CHANNEL_FIRST_ID = 2812700;
const EXTRA_CHANNEL_RED_PACKS = 20;
const EXTRA_CHANNEL_SEED_SALT = 0x2812700;
export const extraChannelIds = (count: number): string[] =>
  Array.from({ length: count }, (_, index) => String(EXTRA_CHANNEL_FIRST_ID + index));

/** The labels Polyv documents; the gateway maps these to enums. */
export const KNOWN_ALLOT_TYPES = ['随机分配红包', '平均分配红包'] as const;
export const KNOWN_RED_PACK_STATUSES = ['进行中', '已结束', '退款中', '已退款'] as const;
export const KNOWN_RED_PACK_TYPES = ['红包雨', '口令红包', '普通红包'] as const;

/** Labels Polyv does not document, present so the gateway's "never fail on unknown" is tested. */
export const UNKNOWN_ALLOT_TYPE = '定向红包';
export const UNKNOWN_RED_PACK_STATUS = '已过期';
export const UNKNOWN_RED_PACK_TYPE = '拼手气红包';

/** payType codes and their display names as Polyv documents them. */
export const KNOWN_PAY_TYPES = {
  cash: '现金打赏',
  pay: '付费观看',
  good: '道具打赏(现金礼物)',
  point: '积分打赏(积分礼物)',
} as const;
export type KnownPayType = keyof typeof KNOWN_PAY_TYPES;

/** An undocumented payType, present so the gateway's UNKNOWN mapping is tested. */
export const UNKNOWN_PAY_TYPE = { payType: 'coupon', payTypeName: '优惠券' } as const;

/** A WeChat user as the demo data uses one: as a red-pack sender, receiver or payer. */
export interface DemoWechatUser {
  readonly openId: string;
  readonly nickName: string;
  readonly avatar: string;
}

/** One claim of a red pack. */
export interface EmulatedReceive {
  redPackId: string;
  /** The receiver's WeChat openId. */
  userId: string;
  nickName: string;
  avatar: string;
  amountFen: number;
  createdTime: number;
}

/** One dispatched red pack; its balance is derived, see {@link redPackBalanceFen}. */
export interface EmulatedRedPack {
  redPackId: string;
  /** The sender's WeChat openId. */
  userId: string;
  channelId: string;
  nickName: string;
  amountFen: number;
  allotType: string;
  createdTime: number;
  channelSessionId: string;
  status: string;
  redPackType: string;
  /**
   * How many packets the sender split it into. Polyv does not list it, but it bounds the
   * claims and sets the share of an even split, so live claims need it.
   */
  packetCount: number;
  /** Claims in the order they happened (oldest first, as Polyv lists them). */
  receives: EmulatedReceive[];
}

/** One income record of the account. */
export interface EmulatedIncome {
  /** The Polyv account id, not a viewer. */
  userId: string;
  amountFen: number;
  goodNum: number | null;
  channelId: string;
  payType: string;
  payTypeName: string;
  viewerName: string;
  payTime: number;
  weixinAppId: string;
  outTradeNo: string;
  openId: string;
}

/** The mutable store behind the emulator. Lists are kept newest first, as Polyv answers. */
export interface DemoDataset {
  readonly seed: number;
  readonly userId: string;
  /** The days the generated records fall in; records inserted later may come after it. */
  readonly period: DataPeriod;
  readonly channels: readonly DemoChannel[];
  /** Red packs by channel id, each list newest first (createdTime desc, then redPackId desc). */
  readonly redPacks: Map<string, EmulatedRedPack[]>;
  /** All income, newest first (payTime desc, then outTradeNo desc). */
  readonly income: EmulatedIncome[];
  /** The viewer pool receivers and payers are drawn from, so the same people recur. */
  readonly viewers: readonly DemoWechatUser[];
  /** The people who send red packs. */
  readonly hosts: readonly DemoWechatUser[];
  /** Continues the seeded sequence for records inserted later. */
  readonly random: RandomSource;
}

const VIEWER_POOL_SIZE = 200;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const CST_OFFSET_MS = 8 * 60 * MINUTE;

/** Where the undocumented labels are planted: [channelId, generation index, label changes]. */
const UNKNOWN_LABEL_PLANTS: readonly (readonly [string, number, Partial<RedPackLabels>])[] = [
  ['2812610', 100, { allotType: UNKNOWN_ALLOT_TYPE }],
  ['2812610', 200, { status: UNKNOWN_RED_PACK_STATUS }],
  ['2812610', 300, { redPackType: UNKNOWN_RED_PACK_TYPE }],
  [
    '2812611',
    10,
    {
      allotType: UNKNOWN_ALLOT_TYPE,
      status: UNKNOWN_RED_PACK_STATUS,
      redPackType: UNKNOWN_RED_PACK_TYPE,
    },
  ],
];

/** Income generation indices that get the undocumented payType, by channel. */
const UNKNOWN_PAY_TYPE_PLANTS: readonly (readonly [string, number])[] = [
  ['2812610', 17],
  ['2812611', 23],
  ['2812613', 5],
];

/**
 * Income placed on the edges of China Standard Time days, so that the gateway's day
 * arithmetic is tested: the first and last instants of the period, both sides of one
 * CST midnight, and both sides of the matching UTC midnight (which must NOT split days).
 * Written for the period ending on {@link DEFAULT_LAST_DAY}; another period shifts them by
 * whole days, so they stay on the same edges.
 */
const BOUNDARY_INCOME: readonly (readonly [string, string, KnownPayType])[] = [
  ['2026-08-01T00:00:00.000+08:00', '2812610', 'pay'],
  ['2026-10-01T23:59:59.999+08:00', '2812610', 'cash'],
  ['2026-10-02T00:00:00.000+08:00', '2812610', 'good'],
  ['2026-10-02T07:59:59.999+08:00', '2812611', 'cash'],
  ['2026-10-02T08:00:00.000+08:00', '2812611', 'point'],
  ['2026-11-19T23:59:59.999+08:00', '2812613', 'pay'],
];

// prettier-ignore
const NICKNAMES = [
  '神经蛙', '小鱼儿', '阿杰', 'momo', '晴天', 'Kevin', '大白', '柠檬', '安妮', '老王',
  '星星', '小米粒', '向日葵', '阿布', '可乐', 'Lily', '橘子汽水', '路人甲', '山海', '木木',
];
const CITIES = ['长沙', '北京', '上海', '广州', '深圳', '杭州', '成都', '武汉', '西安', '南京'];
const HOST_NICKNAMES = ['讲师', '主持人', '助教小王', '品牌官方', '直播小助手'];

interface RedPackLabels {
  allotType: string;
  status: string;
  redPackType: string;
}

/** Newest first, ties broken by the larger id first, so the order is total and stable. */
export function compareRedPacksNewestFirst(a: EmulatedRedPack, b: EmulatedRedPack): number {
  return b.createdTime - a.createdTime || compareDescending(a.redPackId, b.redPackId);
}

/** Newest first, ties broken by the larger order number first. */
export function compareIncomeNewestFirst(a: EmulatedIncome, b: EmulatedIncome): number {
  return b.payTime - a.payTime || compareDescending(a.outTradeNo, b.outTradeNo);
}

function compareDescending(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

/** What is left of a red pack: its amount less every claim. */
export function redPackBalanceFen(pack: EmulatedRedPack): number {
  return pack.amountFen - pack.receives.reduce((sum, receive) => sum + receive.amountFen, 0);
}

/**
 * Builds the demo account. The same seed and last day always give the same data (no clock, no
 * Math.random), so tests may compute expected answers from the returned store.
 */
export function createDemoDataset(
  seed = 42,
  userId: string = DEMO_USER_ID,
  options: DemoDatasetOptions = {},
): DemoDataset {
  const period = dataPeriod(options.lastDay ?? DEFAULT_LAST_DAY);
  const shift = period.start - dataPeriod(DEFAULT_LAST_DAY).start;
  const random = createRandom(seed);
  const usedIds = new Set<string>();
  const viewers = Array.from({ length: VIEWER_POOL_SIZE }, () => generateViewer(random, usedIds));
  const hosts = HOST_NICKNAMES.map((nickName) => ({
    ...generateViewer(random, usedIds),
    nickName,
  }));

  const redPacks = new Map<string, EmulatedRedPack[]>();
  for (const channel of DEMO_CHANNELS) {
    const packs: EmulatedRedPack[] = [];
    for (let index = 0; index < channel.redPackCount; index += 1) {
      const createdTime = randomSecondIn(random, period);
      const labels: RedPackLabels = {
        ...randomLabels(random),
        ...plantedLabels(channel.channelId, index),
      };
      packs.push(
        generateRedPack(random, usedIds, {
          channel,
          period,
          createdTime,
          labels,
          sender: pick(random, hosts),
          receivers: viewers,
        }),
      );
    }
    redPacks.set(channel.channelId, packs.sort(compareRedPacksNewestFirst));
  }

  const income: EmulatedIncome[] = [];
  // Each channel takes payments through its own WeChat official account.
  const weixinAppIds = new Map(
    DEMO_CHANNELS.map((channel) => [
      channel.channelId,
      `wx${randomString(random, HEX_DIGITS, 16)}`,
    ]),
  );
  for (const channel of DEMO_CHANNELS) {
    const weixinAppId = weixinAppIds.get(channel.channelId) ?? '';
    for (let index = 0; index < channel.incomeCount; index += 1) {
      const payTime = randomSecondIn(random, period);
      const planted = UNKNOWN_PAY_TYPE_PLANTS.some(
        ([channelId, at]) => channelId === channel.channelId && at === index,
      );
      const payType = planted ? UNKNOWN_PAY_TYPE.payType : randomPayType(random);
      income.push(
        generateIncome(random, usedIds, {
          userId,
          channelId: channel.channelId,
          weixinAppId,
          payTime,
          payType,
          payer: pick(random, viewers),
        }),
      );
    }
  }
  for (const [at, channelId, payType] of BOUNDARY_INCOME) {
    income.push(
      generateIncome(random, usedIds, {
        userId,
        channelId,
        weixinAppId: weixinAppIds.get(channelId) ?? '',
        payTime: Date.parse(at) + shift,
        payType,
        payer: pick(random, viewers),
      }),
    );
  }
  income.sort(compareIncomeNewestFirst);

  const bigCount = options.bigChannelRedPacks ?? 0;
  const big = bigCount > 0 ? bigChannel(bigCount) : undefined;
  if (big) {
    const bigRandom = createRandom(seed ^ BIG_CHANNEL_SEED_SALT);
    const packs = Array.from({ length: bigCount }, () =>
      generateRedPack(bigRandom, usedIds, {
        channel: big,
        period,
        createdTime: randomSecondIn(bigRandom, period),
        labels: randomLabels(bigRandom),
        sender: pick(bigRandom, hosts),
        receivers: viewers,
        maxPackets: 3,
      }),
    );
    redPacks.set(big.channelId, packs.sort(compareRedPacksNewestFirst));
  }
  // Each from its own random sequence too: the rest of the data is the same with or without them.
  const extras = extraChannelIds(options.extraChannels ?? 0).map((channelId, index) => {
    const channel: DemoChannel = {
      channelId,
      name: `附加频道 ${index + 1}`,
      redPackCount: EXTRA_CHANNEL_RED_PACKS,
      incomeCount: 0,
      sessionIds: [`extra${index + 1}`],
    };
    const extraRandom = createRandom(seed ^ (EXTRA_CHANNEL_SEED_SALT + index));
    const packs = Array.from({ length: EXTRA_CHANNEL_RED_PACKS }, () =>
      generateRedPack(extraRandom, usedIds, {
        channel,
        period,
        createdTime: randomSecondIn(extraRandom, period),
        labels: randomLabels(extraRandom),
        sender: pick(extraRandom, hosts),
        receivers: viewers,
        maxPackets: 3,
      }),
    );
    redPacks.set(channelId, packs.sort(compareRedPacksNewestFirst));
    return channel;
  });
  const channels = [...DEMO_CHANNELS, ...(big ? [big] : []), ...extras];

  return { seed, userId, period, channels, redPacks, income, viewers, hosts, random };
}

/** Options of {@link createDemoDataset}. */
export interface DemoDatasetOptions {
  /** Add channel {@link BIG_CHANNEL_ID} with this many red packs; default 0 (no such channel). */
  bigChannelRedPacks?: number;
  /** Add this many small channels, {@link extraChannelIds}; default 0. */
  extraChannels?: number;
  /** The data's last day, yyyy-MM-dd in China Standard Time; default {@link DEFAULT_LAST_DAY}. */
  lastDay?: string;
}

function bigChannel(redPackCount: number): DemoChannel {
  return {
    channelId: BIG_CHANNEL_ID,
    name: '压测频道',
    redPackCount,
    incomeCount: 0,
    sessionIds: [BIG_CHANNEL_SESSION],
  };
}

/** Fields a test may fix on an inserted red pack; the rest is generated. */
export interface RedPackOverrides {
  userId?: string;
  nickName?: string;
  amountFen?: number;
  allotType?: string;
  status?: string;
  redPackType?: string;
  channelSessionId?: string;
  /** Packets it is split into, from 1 to amountFen (a packet holds at least a fen); default generated. */
  packetCount?: number;
  /**
   * When it was sent: no earlier than the newest red pack of the account, so that it is the
   * newest everywhere. Default one minute after that one.
   */
  createdTime?: number;
  /**
   * Claims, oldest first; the redPackId and claim times are filled in. Default none for a red
   * pack in progress, and claims that fit the status for any other.
   */
  receives?: readonly { userId: string; nickName: string; avatar?: string; amountFen: number }[];
}

/**
 * Adds a red pack at the head of a channel, by default one minute after the newest red pack of
 * the whole account (so it is the newest everywhere and the result stays deterministic).
 * It has just been sent: nobody has claimed it yet (unless `receives` says otherwise),
 * so claims can arrive later through {@link insertReceive}.
 */
export function insertRedPack(
  store: DemoDataset,
  channelId: string,
  overrides: RedPackOverrides = {},
): EmulatedRedPack {
  const channel = store.channels.find((candidate) => candidate.channelId === channelId);
  const packs = store.redPacks.get(channelId);
  if (channel === undefined || packs === undefined) {
    throw new RangeError(`insertRedPack: ${channelId} is not a channel of the demo account`);
  }
  const newest = newestRedPackTime(store);
  const createdTime = overrides.createdTime ?? newest + MINUTE;
  if (!Number.isSafeInteger(createdTime) || createdTime < newest) {
    throw new RangeError(`insertRedPack: createdTime must be an integer no earlier than ${newest}`);
  }
  const usedIds = new Set(
    [...store.redPacks.values()].flatMap((list) => list.map((pack) => pack.redPackId)),
  );
  const amountFen = overrides.amountFen ?? 888;
  const { packetCount } = overrides;
  if (
    packetCount !== undefined &&
    (!Number.isSafeInteger(packetCount) || packetCount < 1 || packetCount > amountFen)
  ) {
    throw new RangeError(`insertRedPack: packetCount must be an integer from 1 to ${amountFen}`);
  }
  const sender = pick(store.random, store.hosts);
  const status = overrides.status ?? '进行中';
  const pack = generateRedPack(store.random, usedIds, {
    channel,
    period: store.period,
    createdTime,
    labels: {
      allotType: overrides.allotType ?? '随机分配红包',
      status,
      redPackType: overrides.redPackType ?? '普通红包',
    },
    sender,
    receivers: store.viewers,
    amountFen,
    packets: packetCount,
    // Just sent; one inserted as ended or refunded keeps claims that fit its status.
    claimed: status === '进行中' ? 0 : undefined,
  });
  pack.userId = overrides.userId ?? pack.userId;
  pack.nickName = overrides.nickName ?? pack.nickName;
  // The newest red pack belongs to the channel's latest session, as it would live.
  pack.channelSessionId = overrides.channelSessionId ?? channel.sessionIds.at(-1) ?? '';
  if (overrides.receives !== undefined) {
    pack.receives = overrides.receives.map((receive, index) => ({
      redPackId: pack.redPackId,
      userId: receive.userId,
      nickName: receive.nickName,
      avatar: receive.avatar ?? '',
      amountFen: receive.amountFen,
      createdTime: createdTime + (index + 1) * SECOND,
    }));
  }
  pack.packetCount = packetCount ?? Math.max(pack.packetCount, pack.receives.length);
  assertValidRedPack(pack);
  packs.unshift(pack);
  return pack;
}

/** Fields a test may fix on an inserted claim; the rest is generated. */
export interface ReceiveOverrides {
  userId?: string;
  nickName?: string;
  avatar?: string;
  /** Default: an even split's share, or a random share that leaves a fen for every packet left. */
  amountFen?: number;
  /**
   * Default one second after the red pack's latest activity (its creation or last claim);
   * an earlier time is refused, since Polyv lists claims oldest first.
   */
  createdTime?: number;
}

/**
 * Adds a claim to a red pack in progress and returns the red pack, ended once its balance
 * or its packets are used up. A demo viewer who has not claimed it yet is the receiver.
 * The red pack keeps its place in the list, which is ordered by when red packs were sent.
 */
export function insertReceive(
  store: DemoDataset,
  redPackId: string,
  overrides: ReceiveOverrides = {},
): EmulatedRedPack {
  const pack = findRedPack(store, redPackId);
  if (pack === undefined) {
    throw new RangeError(`insertReceive: ${redPackId} is not a red pack of the demo account`);
  }
  if (!isClaimable(pack)) {
    throw new RangeError(
      `insertReceive: red pack ${redPackId} cannot be claimed (${pack.status}, ` +
        `balance ${redPackBalanceFen(pack)} fen, ${pack.receives.length} of ${pack.packetCount} packets claimed)`,
    );
  }
  const balance = redPackBalanceFen(pack);
  const amountFen = overrides.amountFen ?? claimShareFen(store.random, pack);
  if (!isFen(amountFen) || amountFen < 1 || amountFen > balance) {
    throw new RangeError(`insertReceive: amountFen must be an integer from 1 to ${balance}`);
  }
  const earliest = latestActivityTime(pack);
  const createdTime = overrides.createdTime ?? earliest + SECOND;
  if (!Number.isSafeInteger(createdTime) || createdTime < earliest) {
    throw new RangeError(
      `insertReceive: createdTime must be an integer no earlier than ${earliest}`,
    );
  }
  const receiver = overrides.userId === undefined ? newReceiver(store, pack) : undefined;
  pack.receives.push({
    redPackId,
    userId: overrides.userId ?? receiver?.openId ?? '',
    nickName: overrides.nickName ?? receiver?.nickName ?? '',
    avatar: overrides.avatar ?? receiver?.avatar ?? '',
    amountFen,
    createdTime,
  });
  if (redPackBalanceFen(pack) === 0 || pack.receives.length >= pack.packetCount) {
    pack.status = '已结束';
  }
  return pack;
}

/** Whether {@link insertReceive} accepts a claim: in progress, with money and packets left. */
export function isClaimable(pack: EmulatedRedPack): boolean {
  return (
    pack.status === '进行中' &&
    redPackBalanceFen(pack) > 0 &&
    pack.receives.length < pack.packetCount
  );
}

/** The red pack with this id, in any channel. */
export function findRedPack(store: DemoDataset, redPackId: string): EmulatedRedPack | undefined {
  for (const packs of store.redPacks.values()) {
    const pack = packs.find((candidate) => candidate.redPackId === redPackId);
    if (pack !== undefined) return pack;
  }
  return undefined;
}

/** When a red pack last changed: its last claim, or its creation; no new claim may precede it. */
export function latestActivityTime(pack: EmulatedRedPack): number {
  return pack.receives.at(-1)?.createdTime ?? pack.createdTime;
}

/**
 * An even split pays every packet the same floored share (the fen left over stay unclaimed,
 * as in the generated data). A random split pays the whole balance to the last packet, and
 * otherwise up to twice the mean of what is left (WeChat's rule), keeping a fen for each
 * packet after it.
 */
function claimShareFen(random: RandomSource, pack: EmulatedRedPack): number {
  const balance = redPackBalanceFen(pack);
  const packetsLeft = pack.packetCount - pack.receives.length;
  if (pack.allotType === '平均分配红包') {
    return Math.min(balance, Math.max(1, Math.floor(pack.amountFen / pack.packetCount)));
  }
  if (packetsLeft <= 1) return balance;
  const most = Math.min(balance - (packetsLeft - 1), Math.floor((2 * balance) / packetsLeft));
  return randomInt(random, 1, Math.max(1, most));
}

/** A demo viewer who has not claimed this red pack yet: WeChat allows one claim per person. */
function newReceiver(store: DemoDataset, pack: EmulatedRedPack): DemoWechatUser {
  const claimed = new Set(pack.receives.map((receive) => receive.userId));
  const candidates = store.viewers.filter((viewer) => !claimed.has(viewer.openId));
  if (candidates.length === 0) {
    throw new RangeError(`insertReceive: every demo viewer has claimed ${pack.redPackId}`);
  }
  return pick(store.random, candidates);
}

/** Fields a test may fix on inserted income; the rest is generated. */
export interface IncomeOverrides {
  channelId?: string;
  amountFen?: number;
  goodNum?: number | null;
  payType?: string;
  payTypeName?: string;
  viewerName?: string;
  weixinAppId?: string;
  openId?: string;
}

/** Adds an income record at the head, one minute after the newest one. */
export function insertIncome(store: DemoDataset, overrides: IncomeOverrides = {}): EmulatedIncome {
  const channelId = overrides.channelId ?? store.channels[0]?.channelId ?? '';
  if (!store.channels.some((channel) => channel.channelId === channelId)) {
    throw new RangeError(`insertIncome: ${channelId} is not a channel of the demo account`);
  }
  const payType = overrides.payType ?? 'cash';
  const newest = store.income[0]?.payTime ?? store.period.end;
  const record = generateIncome(store.random, new Set(store.income.map((row) => row.outTradeNo)), {
    userId: store.userId,
    channelId,
    weixinAppId:
      overrides.weixinAppId ??
      store.income.find((row) => row.channelId === channelId)?.weixinAppId ??
      `wx${randomString(store.random, HEX_DIGITS, 16)}`,
    payTime: newest + MINUTE,
    payType,
    payer: pick(store.random, store.viewers),
  });
  const inserted: EmulatedIncome = {
    ...record,
    amountFen: overrides.amountFen ?? record.amountFen,
    goodNum: overrides.goodNum === undefined ? record.goodNum : overrides.goodNum,
    payTypeName: overrides.payTypeName ?? record.payTypeName,
    viewerName: overrides.viewerName ?? record.viewerName,
    openId: overrides.openId ?? record.openId,
  };
  if (!isFen(inserted.amountFen)) {
    throw new RangeError(`insertIncome: amountFen must be a non-negative integer`);
  }
  store.income.unshift(inserted);
  return inserted;
}

/** The newest red pack of the whole account, or the end of the period when there is none. */
export function newestRedPackTime(store: DemoDataset): number {
  const heads = [...store.redPacks.values()].flatMap((packs) => packs.slice(0, 1));
  return heads.length === 0 ? store.period.end : Math.max(...heads.map((pack) => pack.createdTime));
}

function assertValidRedPack(pack: EmulatedRedPack): void {
  if (!isFen(pack.amountFen) || pack.receives.some((receive) => !isFen(receive.amountFen))) {
    throw new RangeError('insertRedPack: amounts must be non-negative integers of fen');
  }
  if (redPackBalanceFen(pack) < 0) {
    throw new RangeError('insertRedPack: the receives add up to more than the amount');
  }
  if (pack.packetCount < pack.receives.length) {
    throw new RangeError('insertRedPack: packetCount must be no less than the receives');
  }
}

function isFen(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function generateViewer(random: RandomSource, usedIds: Set<string>): DemoWechatUser {
  const nickName = chance(random, 0.5)
    ? `${pick(random, CITIES)}观众/${randomString(random, DECIMAL_DIGITS, 5)}`
    : pick(random, NICKNAMES) + (chance(random, 0.5) ? String(randomInt(random, 1, 99)) : '');
  return {
    // WeChat openIds of one official account share a prefix and are 28 characters long.
    openId: uniqueId(usedIds, () => `ovtl9t${randomString(random, OPENID_CHARACTERS, 22)}`),
    nickName,
    avatar: `https://thirdwx.qlogo.cn/mmopen/vi_32/${randomString(random, OPENID_CHARACTERS, 64)}/132`,
  };
}

function randomLabels(random: RandomSource): RedPackLabels {
  return {
    allotType: pickWeighted(random, [
      ['随机分配红包', 7],
      ['平均分配红包', 3],
    ]),
    status: pickWeighted(random, [
      ['已结束', 70],
      ['进行中', 10],
      ['退款中', 5],
      ['已退款', 15],
    ]),
    redPackType: pickWeighted(random, [
      ['普通红包', 50],
      ['口令红包', 25],
      ['红包雨', 25],
    ]),
  };
}

function plantedLabels(channelId: string, index: number): Partial<RedPackLabels> {
  const plant = UNKNOWN_LABEL_PLANTS.find(([id, at]) => id === channelId && at === index);
  return plant?.[2] ?? {};
}

/** A spread from one fen to 20,000 yuan, weighted towards everyday amounts. */
function randomRedPackAmountFen(random: RandomSource): number {
  const band = pickWeighted(random, [
    ['tiny', 8],
    ['everyday', 60],
    ['generous', 25],
    ['lucky', 5],
    ['huge', 2],
  ] as const);
  switch (band) {
    case 'tiny':
      return pick(random, [1, 10, 20, 30]);
    case 'everyday':
      return randomInt(random, 50, 5000);
    case 'generous':
      return randomInt(random, 5000, 100_000);
    case 'lucky':
      return pick(random, [88_800, 166_600, 520_000]);
    case 'huge':
      return 2_000_000;
  }
}

interface RedPackPlan {
  channel: DemoChannel;
  /** The dataset's period, whose slices are the channel's sessions. */
  period: DataPeriod;
  createdTime: number;
  labels: RedPackLabels;
  sender: DemoWechatUser;
  receivers: readonly DemoWechatUser[];
  amountFen?: number;
  /** Exactly this many packets, no more than amountFen; default random up to `maxPackets`. */
  packets?: number;
  /** At most this many packets (default: by type, up to 40). */
  maxPackets?: number;
  /** Packets already claimed; default by status (all when ended, some when in progress). */
  claimed?: number;
}

function generateRedPack(
  random: RandomSource,
  usedIds: Set<string>,
  plan: RedPackPlan,
): EmulatedRedPack {
  const { channel, period, createdTime, labels, sender } = plan;
  const redPackId = uniqueId(usedIds, () => randomString(random, HEX_DIGITS, 32));
  const amountFen = plan.amountFen ?? randomRedPackAmountFen(random);

  // Packets the sender split the pack into; each needs at least one fen.
  const maxPackets =
    plan.maxPackets ??
    (labels.redPackType === '红包雨' ? 40 : labels.redPackType === '口令红包' ? 20 : 10);
  const packets = plan.packets ?? Math.min(randomInt(random, 1, maxPackets), amountFen);
  const shares =
    labels.allotType === '平均分配红包'
      ? Array.from({ length: packets }, () => Math.floor(amountFen / packets))
      : splitRandomly(random, amountFen, packets);
  // A finished pack is fully claimed; one in progress or refunded has packets left over.
  const claimed =
    plan.claimed !== undefined
      ? Math.min(plan.claimed, packets)
      : labels.status === '已结束'
        ? packets
        : labels.status === '进行中'
          ? randomInt(random, 0, packets)
          : randomInt(random, 0, packets - 1);

  let claimTime = createdTime;
  const receives = sample(random, plan.receivers, claimed).map((viewer, index) => {
    claimTime += randomInt(random, 1, 90) * SECOND;
    return {
      redPackId,
      userId: viewer.openId,
      nickName: viewer.nickName,
      avatar: viewer.avatar,
      amountFen: shares[index] ?? 0,
      createdTime: claimTime,
    };
  });

  return {
    redPackId,
    userId: sender.openId,
    channelId: channel.channelId,
    nickName: sender.nickName,
    amountFen,
    allotType: labels.allotType,
    createdTime,
    channelSessionId: sessionAt(channel, period, createdTime),
    status: labels.status,
    redPackType: labels.redPackType,
    packetCount: packets,
    receives,
  };
}

/** Splits `total` fen into `parts` random shares of at least one fen that add up exactly. */
function splitRandomly(random: RandomSource, total: number, parts: number): number[] {
  if (parts < 1) return [];
  const weights = Array.from({ length: parts }, () => 0.1 + randomWeight(random));
  const weightSum = weights.reduce((sum, weight) => sum + weight, 0);
  const spare = total - parts;
  const shares = weights.map((weight) => 1 + Math.floor((spare * weight) / weightSum));
  // Flooring leaves a few fen over; the last packet takes them, so the sum is exact.
  const assigned = shares.reduce((sum, share) => sum + share, 0);
  shares[shares.length - 1] = (shares[shares.length - 1] ?? 0) + total - assigned;
  return shares;
}

function randomWeight(random: RandomSource): number {
  return randomInt(random, 0, 1_000_000) / 1_000_000;
}

/** Sessions own consecutive, equal slices of the period, in order. */
function sessionAt(channel: DemoChannel, period: DataPeriod, time: number): string {
  const span = period.end - period.start;
  const index = Math.floor(((time - period.start) * channel.sessionIds.length) / span);
  const clamped = Math.min(Math.max(index, 0), channel.sessionIds.length - 1);
  return channel.sessionIds[clamped] ?? '';
}

function randomPayType(random: RandomSource): KnownPayType {
  return pickWeighted(random, [
    ['cash', 35],
    ['pay', 25],
    ['good', 25],
    ['point', 15],
  ] as const);
}

interface IncomePlan {
  userId: string;
  channelId: string;
  weixinAppId: string;
  payTime: number;
  payType: string;
  payer: DemoWechatUser;
}

function generateIncome(
  random: RandomSource,
  usedIds: Set<string>,
  plan: IncomePlan,
): EmulatedIncome {
  const { payType } = plan;
  let amountFen: number;
  let goodNum: number | null = null;
  let payTypeName: string;
  switch (payType) {
    case 'cash':
      amountFen = chance(random, 0.1) ? 1 : randomInt(random, 100, 50_000);
      payTypeName = KNOWN_PAY_TYPES.cash;
      break;
    case 'pay':
      amountFen = pick(random, [990, 1990, 4990, 9900]);
      payTypeName = KNOWN_PAY_TYPES.pay;
      break;
    case 'good':
      goodNum = randomInt(random, 1, 99);
      amountFen = goodNum * pick(random, [1, 10, 520, 1000]);
      payTypeName = KNOWN_PAY_TYPES.good;
      break;
    case 'point':
      // Polyv leaves goodNum empty on some point gifts; the gateway must cope.
      goodNum = chance(random, 0.7) ? randomInt(random, 1, 20) : null;
      amountFen = randomInt(random, 1, 500);
      payTypeName = KNOWN_PAY_TYPES.point;
      break;
    default:
      amountFen = 500;
      payTypeName = payType === UNKNOWN_PAY_TYPE.payType ? UNKNOWN_PAY_TYPE.payTypeName : payType;
  }
  // WeChat Pay order numbers: a prefix, the CST date of payment, then a serial.
  const outTradeNo = uniqueId(
    usedIds,
    () =>
      `4200000${randomString(random, DECIMAL_DIGITS, 3)}${cstDateDigits(plan.payTime)}` +
      randomString(random, DECIMAL_DIGITS, 10),
  );
  return {
    userId: plan.userId,
    amountFen,
    goodNum,
    channelId: plan.channelId,
    payType,
    payTypeName,
    viewerName: plan.payer.nickName,
    payTime: plan.payTime,
    weixinAppId: plan.weixinAppId,
    outTradeNo,
    openId: plan.payer.openId,
  };
}

/** The China Standard Time day of an instant, yyyy-MM-dd. */
function cstDay(time: number): string {
  return new Date(time + CST_OFFSET_MS).toISOString().slice(0, 10);
}

function cstDateDigits(time: number): string {
  return cstDay(time).replaceAll('-', '');
}

/** A whole second of the period, as Polyv's own timestamps are. */
function randomSecondIn(random: RandomSource, { start, end }: DataPeriod): number {
  return start + randomInt(random, 0, (end - start) / SECOND - 1) * SECOND;
}

function uniqueId(usedIds: Set<string>, generate: () => string): string {
  for (;;) {
    const id = generate();
    if (!usedIds.has(id)) {
      usedIds.add(id);
      return id;
    }
  }
}
