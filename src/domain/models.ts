/**
 * The gateway's internal models: what resolvers receive (codegen maps GraphQL types to these).
 * Upstream quirks are gone by now: money is integer fen, times are Date, labels are enums
 * with the original label kept beside them.
 */
import type {
  PayType,
  RedPackAllotType,
  RedPackStatus,
  RedPackType,
} from '../generated/graphql.js';

export type { PayType, RedPackAllotType, RedPackStatus, RedPackType };

/** An exact amount of money in fen (hundredths of a yuan). */
export interface MoneyModel {
  fen: number;
  currency: 'CNY';
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
