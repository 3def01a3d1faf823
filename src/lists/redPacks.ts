/**
 * The red-pack list: a channel's red packs with their receives, from Polyv's red-pack dispatch
 * statistics (`redPackStatistics`), newest first.
 */
import {
  allotTypeFromLabel,
  instantFromMillis,
  money,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
} from '../domain/convert.js';
import type { RedPackModel } from '../domain/models.js';
import type { RecordOf } from '../polyv/endpoints.js';
import { polyvList } from './list.js';

/** The filters of one red-pack list; every page of the list shares them. */
export interface RedPackFilter {
  channelId: string;
  sessionId?: string | undefined;
  /** Inclusive bounds on createdTime, ms. */
  startTime?: number | undefined;
  endTime?: number | undefined;
}

export const redPacks = polyvList({
  name: 'redPacks',
  endpoint: 'redPackStatistics',
  params: (filter: RedPackFilter) => ({
    channelId: filter.channelId,
    sessionId: filter.sessionId,
    startTime: filter.startTime,
    endTime: filter.endTime,
  }),
  toModel: toRedPack,
  keyOf: (redPack) => ({ id: redPack.id, time: redPack.createdAt.getTime() }),
});

function toRedPack(raw: RecordOf<'redPackStatistics'>): RedPackModel {
  return {
    id: raw.redPackId,
    channelId: raw.channelId,
    sessionId: raw.channelSessionId ?? raw.sessionId ?? null,
    sender: { openId: raw.userId, nickname: raw.nickName, avatarUrl: null },
    amount: money(yuanToFen(raw.amount)),
    balance: money(yuanToFen(raw.balance)),
    allotType: allotTypeFromLabel(raw.allotType),
    allotTypeLabel: raw.allotType,
    status: redPackStatusFromLabel(raw.status),
    statusLabel: raw.status,
    type: redPackTypeFromLabel(raw.redPackType),
    typeLabel: raw.redPackType,
    createdAt: instantFromMillis(raw.createdTime),
    receives: raw.redPackReceiveList.map((receive) => ({
      redPackId: receive.redPackId,
      user: { openId: receive.userId, nickname: receive.nickName, avatarUrl: receive.avatar },
      amount: money(yuanToFen(receive.amount)),
      receivedAt: instantFromMillis(receive.createdTime),
    })),
  };
}
