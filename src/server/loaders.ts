/**
 * Per-request DataLoaders over upstream pages. Built fresh for every GraphQL request (never
 * shared between requests), so within one request the same page is fetched once, whichever
 * fields, aliases, channels or entity representations ask for it, and different pages are
 * fetched concurrently (bounded by the upstream guard).
 */
import DataLoader from 'dataloader';
import type { IncomeRecordModel, RedPackModel } from '../domain/models.js';
import type { PolyvPage } from '../polyv/page.js';
import type { PolyvPages, RecordBudget, PolyvCallOptions } from '../polyv/pages.js';
import { stableKey } from '../cache/keys.js';
import { fetchIncomePage, type IncomePageQuery } from '../polyv/incomeDetail.js';
import { fetchRedPackPage, type RedPackPageQuery } from '../polyv/redPackStatistics.js';

export interface PageLoaders {
  redPacks: (query: RedPackPageQuery) => Promise<PolyvPage<RedPackModel>>;
  income: (query: IncomePageQuery) => Promise<PolyvPage<IncomeRecordModel>>;
  /** Not kept for the request (summaries walk whole lists; holding them would hold every record). */
  redPacksOnce: (query: RedPackPageQuery) => Promise<PolyvPage<RedPackModel>>;
  incomeOnce: (query: IncomePageQuery) => Promise<PolyvPage<IncomeRecordModel>>;
}

/**
 * `options` apply to every call of the request (its client, its deadline, whether it wants
 * fresh data). `held` counts the records of the pages kept for the request: the memoised ones,
 * not a summary's, which are added up and let go.
 */
export function createPageLoaders(
  upstream: PolyvPages,
  options: PolyvCallOptions,
  held?: RecordBudget,
): PageLoaders {
  const kept = { ...options, held };
  return {
    redPacks: pageLoader((query: RedPackPageQuery) => fetchRedPackPage(upstream, query, kept)),
    income: pageLoader((query: IncomePageQuery) => fetchIncomePage(upstream, query, kept)),
    redPacksOnce: (query) => fetchRedPackPage(upstream, query, options),
    incomeOnce: (query) => fetchIncomePage(upstream, query, options),
  };
}

function pageLoader<Q extends object, T>(fetch: (query: Q) => Promise<PolyvPage<T>>) {
  // Polyv has no batch endpoint: a "batch" is a set of independent calls started together.
  // Failures are returned as values so one failed page does not fail its neighbours.
  const loader = new DataLoader<Q, PolyvPage<T>, string>(
    (queries) =>
      Promise.all(queries.map((query) => fetch(query).catch((error: unknown) => toError(error)))),
    { cacheKeyFn: stableKey },
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
