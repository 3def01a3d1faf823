/**
 * The gateway's internal models: what resolvers receive (codegen maps GraphQL types to these).
 * Upstream quirks are gone by now: money is integer fen, times are Date, labels are enums
 * with the original label kept beside them.
 *
 * The enums are the domain's, so that it reads nothing generated from the schema:
 * schema.graphql's enums of the same names have the same values (test/conversions.test.ts holds
 * them equal), and the resolvers hand these on as they are.
 */

/** How a red pack's amount is split. */
export const RED_PACK_ALLOT_TYPES = ['RANDOM', 'AVERAGE', 'UNKNOWN'] as const;
export type RedPackAllotType = (typeof RED_PACK_ALLOT_TYPES)[number];

/** Where a red pack is in its life. */
export const RED_PACK_STATUSES = [
  'IN_PROGRESS',
  'ENDED',
  'REFUNDING',
  'REFUNDED',
  'UNKNOWN',
] as const;
export type RedPackStatus = (typeof RED_PACK_STATUSES)[number];

/** The kind of red pack. */
export const RED_PACK_TYPES = ['RAIN', 'PASSWORD', 'NORMAL', 'UNKNOWN'] as const;
export type RedPackType = (typeof RED_PACK_TYPES)[number];

/** What an income record was paid for. */
export const PAY_TYPES = ['CASH', 'PAY_PER_VIEW', 'GIFT', 'POINT_GIFT', 'UNKNOWN'] as const;
export type PayType = (typeof PAY_TYPES)[number];

/** An exact amount of money in fen (hundredths of a yuan). */
export interface MoneyModel {
  readonly fen: number;
  readonly currency: 'CNY';
  /** The same amount in yuan, as an exact decimal string ("0.98"). */
  readonly amount: string;
}

export interface ChannelModel {
  /** Polyv's channel number (频道号), digits only. */
  id: string;
}

export interface WechatUserModel {
  openId: string;
  nickname: string | null;
  avatarUrl: string | null;
}

export interface RedPackReceiveModel {
  redPackId: string;
  user: WechatUserModel;
  amount: MoneyModel;
  receivedAt: Date;
}

export interface RedPackModel {
  id: string;
  channelId: string;
  sessionId: string | null;
  sender: WechatUserModel;
  amount: MoneyModel;
  balance: MoneyModel;
  allotType: RedPackAllotType;
  allotTypeLabel: string;
  status: RedPackStatus;
  statusLabel: string;
  type: RedPackType;
  typeLabel: string;
  createdAt: Date;
  receives: RedPackReceiveModel[];
}

export interface IncomeRecordModel {
  id: string;
  channelId: string;
  accountId: string;
  amount: MoneyModel;
  giftCount: number | null;
  payType: PayType;
  payTypeLabel: string;
  payer: WechatUserModel;
  paidAt: Date;
  wechatAppId: string | null;
}
