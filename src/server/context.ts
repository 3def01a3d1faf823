/** The per-request GraphQL context, built fresh per request. */
import type { Principal } from '../auth/apiKeys.js';
import type { RequestRecord } from '../observability/requests.js';
import { CallBudget, RecordBudget, type PolyvPages } from '../polyv/pages.js';
import type { LiveContext, ResolverContext } from '../schema/context.js';
import { CachePolicy } from './httpAnswer.js';

export type { LiveContext };

/**
 * The per-request context as the server holds it: what resolvers get (schema/context.ts), with
 * the cache policy the server reads back and the request's record.
 */
export interface GatewayContext extends ResolverContext {
  /** Epoch ms by which the request must be answered. */
  deadline: number;
  /** The client asked for fresh data (Cache-Control: no-cache). */
  fresh: boolean;
  /** How long this answer may be reused: restricted by what the resolvers used. */
  cachePolicy: CachePolicy;
  /** The request's record for logs, metrics and traces; absent outside the HTTP path. */
  record: RequestRecord | undefined;
}

export interface ContextDependencies {
  /** Upstream calls the request may make, at run time (GATEWAY_MAX_UPSTREAM_CALLS). */
  maxUpstreamCalls: number;
  /** Upstream records the request may fetch and hold, at run time (GATEWAY_MAX_UPSTREAM_RECORDS). */
  maxUpstreamRecords: number;
  pages: PolyvPages;
  accountId: string;
  principal: Principal;
  /** Who is asking, as the upstream's fair queue tells clients apart (see access.ts clientOf). */
  client: string;
  deadline: number;
  fresh: boolean;
  record: RequestRecord | undefined;
  summaryMaxRecords: number;
  live?: LiveContext | undefined;
}

export function createContext({
  pages,
  client,
  maxUpstreamCalls,
  maxUpstreamRecords,
  ...request
}: ContextDependencies): GatewayContext {
  const cachePolicy = new CachePolicy();
  return {
    polyv: {
      pages,
      options: {
        client,
        deadline: request.deadline,
        fresh: request.fresh,
        tally: request.record,
        budget: new CallBudget(maxUpstreamCalls),
        // Every page the answer reads makes it as old as that page.
        freshness: cachePolicy,
      },
      held: new RecordBudget(maxUpstreamRecords),
    },
    cachePolicy,
    client,
    ...request,
  };
}
