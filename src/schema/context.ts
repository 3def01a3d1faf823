/**
 * What a resolver may use of its request: the context as the schema sees it. codegen types the
 * resolvers with it (codegen.yml's contextType); the server builds it per request
 * (server/graphqlHandler.ts, `createContext`), with what only the server reads besides.
 */
import type { Principal } from '../auth/apiKeys.js';
import type { PolyvSession } from '../lists/list.js';
import type { LiveHub } from '../live/hub.js';
import type { LiveError } from '../live/poller.js';

export interface ResolverContext {
  /** This request's way to Polyv: the lists read through it (src/lists/) share its budgets. */
  polyv: PolyvSession;
  /** The Polyv account whose income is reported. */
  accountId: string;
  /** Who is asking (decides which channels they may read). */
  principal: Principal;
  /** Who is asking, as the fair queues tell clients apart (see server/access.ts clientOf). */
  client: string;
  /** How long this answer may be reused: each resolver restricts it to what it read. */
  cachePolicy: { restrict(maxAgeSeconds: number): void };
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
