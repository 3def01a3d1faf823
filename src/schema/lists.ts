/**
 * The paged Polyv lists behind our connections: one identity and page fetcher per list.
 * Every read of Polyv data is built here, so this is also where access is decided: before
 * any upstream call, a principal may only read the channels its API key allows, and only a
 * key allowed the whole account may read account-level income.
 */
import { canReadAccount, canReadChannel } from '../auth/apiKeys.js';
import { stableKey } from '../cache/keys.js';
import type { IncomeRecordModel, RedPackModel } from '../domain/models.js';
import { forbidden } from './clientErrors.js';
import type { PagedList } from '../pagination/connection.js';
import type { IncomeFilter } from '../polyv/incomeDetail.js';
import type { RedPackFilter } from '../polyv/redPackStatistics.js';
import type { GatewayContext } from '../server/context.js';

function authorise(context: GatewayContext, channelId: string | undefined): void {
  const { principal } = context;
  if (channelId === undefined) {
    if (!canReadAccount(principal)) {
      throw forbidden(
        `The API key "${principal.name}" may read only some channels, not the whole account's income: pass channelId.`,
      );
    }
  } else if (!canReadChannel(principal, channelId)) {
    throw forbidden(`The API key "${principal.name}" may not read channel ${channelId}.`);
  }
}

export function redPackList(
  context: GatewayContext,
  filter: RedPackFilter,
): PagedList<RedPackModel> {
  authorise(context, filter.channelId);
  return {
    identity: `redPacks:${stableKey(filter)}`,
    fetchPage: (pageNumber, pageSize) =>
      context.pages.redPacks({ ...filter, pageNumber, pageSize }),
    fetchWholePage: (pageNumber, pageSize, fresh) =>
      context.pages.redPacksOnce({ ...filter, pageNumber, pageSize, fresh }),
    keyOf: (redPack) => ({ id: redPack.id, time: redPack.createdAt.getTime() }),
  };
}

export function incomeList(
  context: GatewayContext,
  filter: IncomeFilter,
): PagedList<IncomeRecordModel> {
  authorise(context, filter.channelId);
  return {
    identity: `income:${stableKey(filter)}`,
    fetchPage: (pageNumber, pageSize) => context.pages.income({ ...filter, pageNumber, pageSize }),
    fetchWholePage: (pageNumber, pageSize, fresh) =>
      context.pages.incomeOnce({ ...filter, pageNumber, pageSize, fresh }),
    keyOf: (record) => ({ id: record.id, time: record.paidAt.getTime() }),
  };
}
