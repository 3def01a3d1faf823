/** The paged Polyv lists behind our connections: one identity and page fetcher per list. */
import type { IncomeRecordModel, RedPackModel } from '../domain/models.js';
import type { PagedList } from '../pagination/connection.js';
import type { IncomeFilter } from '../polyv/incomeDetail.js';
import type { RedPackFilter } from '../polyv/redPackStatistics.js';
import { pageKey } from '../server/loaders.js';
import type { GatewayContext } from '../server/context.js';

export function redPackList(
  context: GatewayContext,
  filter: RedPackFilter,
): PagedList<RedPackModel> {
  return {
    identity: `redPacks:${pageKey(filter)}`,
    fetchPage: (pageNumber, pageSize) =>
      context.pages.redPacks({ ...filter, pageNumber, pageSize }),
    keyOf: (redPack) => ({ id: redPack.id, time: redPack.createdAt.getTime() }),
  };
}

export function incomeList(
  context: GatewayContext,
  filter: IncomeFilter,
): PagedList<IncomeRecordModel> {
  return {
    identity: `income:${pageKey(filter)}`,
    fetchPage: (pageNumber, pageSize) => context.pages.income({ ...filter, pageNumber, pageSize }),
    keyOf: (record) => ({ id: record.id, time: record.paidAt.getTime() }),
  };
}
