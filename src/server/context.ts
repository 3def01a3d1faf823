/** The per-request GraphQL context: everything a resolver may use, built fresh per request. */
import type { Principal } from '../auth/apiKeys.js';
import type { PolyvSession } from '../lists/list.js';
import type { LiveHub } from '../live/hub.js';
import type { LiveError } from '../live/poller.js';
import type { RequestRecord } from '../observability/requests.js';
import { CallBudget, RecordBudget, type PolyvPages } from '../polyv/pages.js';
import { CachePolicy } from './cachePolicy.js';

export interface GatewayContext {
  /** This request's way to Polyv: the lists read through it (src/lists/) share its budgets. */
  polyv: PolyvSession;
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
  /** How long this answer may be reused: restricted by what the resolvers used. */
  cachePolicy: CachePolicy;
  /** The request's record for logs, metrics and traces; absent outside the HTTP path. */
  record: RequestRecord | undefined;
  /** The most records one summary may add up. */
  summaryMaxRecords: number;
  /** A subscription's way to live updates; absent for queries. */
  live?: LiveContext | undefined;
}

/** What a subscription's resolvers need: the hub, and how to drop this subscriber. */
export interface LiveContext {
  hub: LiveHub;
  /** Asks the transport to close the connection, with the reason (a slow consumer). */
  drop(reason: string): void;
  /**
   * Admits the subscription to what it will hold (its document; a turn in the execution gate for
   * its snapshot, taken in `beforeSnapshot` when the snapshot is ready): refuses with a coded
   * error past a limit. The stream it returns gives all of it back, the gate's turn once the
   * snapshot is out and the rest when the stream ends.
   */
  admit<T>(
    start: (
      beforeSnapshot: (items: number) => Promise<LiveError | undefined>,
    ) => AsyncIterableIterator<T>,
  ): Promise<AsyncIterableIterator<T>>;
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
