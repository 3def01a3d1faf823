/** The per-request GraphQL context: everything a resolver may use, built fresh per request. */
import type { Principal } from '../auth/apiKeys.js';
import type { RequestRecord } from '../observability/requests.js';
import { CallBudget, RecordBudget, type PolyvPages } from '../polyv/pages.js';
import { CachePolicy } from './cachePolicy.js';
import { createPageLoaders, type PageLoaders } from './loaders.js';

export interface GatewayContext {
  /** Upstream pages, de-duplicated within this request. */
  pages: PageLoaders;
  /** The Polyv account whose income is reported. */
  accountId: string;
  /** Who is asking (decides which channels they may read). */
  principal: Principal;
  /** Who is asking, as the fair queues tell clients apart (see access.ts clientOf). */
  client: string;
  /** Epoch ms by which the request must be answered. */
  deadline: number;
  /** The client asked for fresh data (Cache-Control: no-cache). */
  fresh: boolean;
  /** Seconds an answer built on each endpoint may be reused (its page-cache TTL; 0: not at all). */
  cacheMaxAge: { redPackStatistics: number; incomeDetail: number };
  /** How long this answer may be reused: restricted by what the resolvers used. */
  cachePolicy: CachePolicy;
  /** The request's record for logs, metrics and traces; absent outside the HTTP path. */
  record: RequestRecord | undefined;
  /** The most records one summary may add up. */
  summaryMaxRecords: number;
}

export interface ContextDependencies {
  /** Upstream calls the request may make, at run time (GATEWAY_MAX_UPSTREAM_CALLS). */
  maxUpstreamCalls: number;
  /** Upstream records the request may fetch and hold, at run time (GATEWAY_MAX_UPSTREAM_RECORDS). */
  maxUpstreamRecords: number;
  upstream: PolyvPages;
  accountId: string;
  principal: Principal;
  /** Who is asking, as the upstream's fair queue tells clients apart (see access.ts clientOf). */
  client: string;
  deadline: number;
  fresh: boolean;
  cacheMaxAge: GatewayContext['cacheMaxAge'];
  record: RequestRecord | undefined;
  summaryMaxRecords: number;
}

export function createContext({
  upstream,
  client,
  maxUpstreamCalls,
  maxUpstreamRecords,
  ...request
}: ContextDependencies): GatewayContext {
  return {
    pages: createPageLoaders(
      upstream,
      {
        client,
        deadline: request.deadline,
        fresh: request.fresh,
        tally: request.record,
        budget: new CallBudget(maxUpstreamCalls),
      },
      new RecordBudget(maxUpstreamRecords),
    ),
    cachePolicy: new CachePolicy(),
    client,
    ...request,
  };
}
