/**
 * Per-request DataLoaders over upstream pages. Built fresh for every GraphQL request (never
 * shared between requests), so within one request the same page is fetched once, whichever
 * fields, aliases, channels or entity representations ask for it, and different pages are
 * fetched concurrently (bounded by the upstream guard).
 */
import DataLoader from 'dataloader';
import type { IncomeRecordModel, RedPackModel } from '../domain/models.js';
import type { UpstreamPage } from '../pagination/page.js';
import type { CallOptions, PolyvHttpClient } from '../polyv/http.js';
import { fetchIncomePage, type IncomePageQuery } from '../polyv/incomeDetail.js';
import { fetchRedPackPage, type RedPackPageQuery } from '../polyv/redPackStatistics.js';

export interface PageLoaders {
  redPacks: (query: RedPackPageQuery) => Promise<UpstreamPage<RedPackModel>>;
  income: (query: IncomePageQuery) => Promise<UpstreamPage<IncomeRecordModel>>;
}

/** `options` apply to every call of the request (its deadline). */
export function createPageLoaders(client: PolyvHttpClient, options: CallOptions): PageLoaders {
  return {
    redPacks: pageLoader((query: RedPackPageQuery) => fetchRedPackPage(client, query, options)),
    income: pageLoader((query: IncomePageQuery) => fetchIncomePage(client, query, options)),
  };
}

/** A cache key that does not depend on the order properties were written in. */
export function pageKey(query: object): string {
  return JSON.stringify(
    Object.entries(query)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

function pageLoader<Q extends object, T>(fetch: (query: Q) => Promise<UpstreamPage<T>>) {
  // Polyv has no batch endpoint: a "batch" is a set of independent calls started together.
  // Failures are returned as values so one failed page does not fail its neighbours.
  const loader = new DataLoader<Q, UpstreamPage<T>, string>(
    (queries) =>
      Promise.all(queries.map((query) => fetch(query).catch((error: unknown) => toError(error)))),
    { cacheKeyFn: pageKey },
  );
  return (query: Q) =>
    loader.load(query).catch((error: unknown) => {
      // A failed page is not remembered: a later read in the same request may try again.
      loader.clear(query);
      throw error;
    });
}

const toError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));
