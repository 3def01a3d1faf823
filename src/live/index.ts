/**
 * Live updates, assembled: the pollers read Polyv through the same pages as queries (signed
 * client, rate limit, breaker, page cache, metrics), within what live polling may spend
 * (budget.ts), the bus decides who polls and carries the messages (bus.ts), and the hub hands
 * them to this process's subscribers (hub.ts).
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GatewayConfig } from '../config/index.js';
import type { RedPackModel } from '../domain/models.js';
import { redPackSummaryBuilder } from '../domain/summaries.js';
import type { SharedRedis } from '../cache/redis.js';
import { listOf } from '../lists/list.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { walkAll } from '../pagination/walk.js';
import { RecordBudget, type PolyvPages } from '../polyv/pages.js';
import type { BucketOptions, TokenBuckets } from '../ratelimit/tokenBucket.js';
import { LiveBudget } from './budget.js';
import { LiveBus } from './bus.js';
import { LiveHub } from './hub.js';
import { HEAD_SIZE, TopicPoller, type Topic, type TopicState } from './poller.js';

export { LiveHub } from './hub.js';

/** How polls are told apart from clients in the upstream's fair queue. */
const POLLER_CLIENT = 'live-poller';

export interface LiveOptions {
  pages: PolyvPages;
  redis: SharedRedis | undefined;
  live: GatewayConfig['live'];
  limits: Pick<GatewayConfig['limits'], 'requestTimeoutMs' | 'summaryMaxRecords'>;
  metrics: GatewayMetrics;
  logger: Logger;
  /** The gateway's token buckets (in Redis when configured), by namespace. */
  buckets(namespace: string, options: BucketOptions): TokenBuckets;
  /** The one error formatter, so a poll's failure reads as the same failure in a query. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
}

export function startLive(options: LiveOptions): { hub: LiveHub; bus: LiveBus } {
  const { pages, live, limits, metrics, logger } = options;
  const callOptions = () => ({
    client: POLLER_CLIENT,
    deadline: Date.now() + limits.requestTimeoutMs,
  });
  const redPacks = listOf('redPackStatistics');
  const filterOf = (topic: Topic) => ({ channelId: topic.channelId, sessionId: topic.sessionId });
  const budget = new LiveBudget({
    ceiling: options.buckets('bucket:live:', live.ceiling),
    clients: options.buckets('bucket:live-client:', live.clientBudget),
  });
  const newPoller = (topic: Topic, resumeFrom?: TopicState, sequenceFrom?: number) =>
    new TopicPoller(
      topic,
      {
        readHead: async (polled, pageNumber, pageSize, call) => {
          // Within the ceiling; a topic's first head read was paid by its client at subscribe.
          if (call) await budget.spend(call.signal);
          // Past every cache read (a poll is there to see what changed), but into the cache.
          return redPacks.fetchPage(
            pages,
            { ...filterOf(polled), pageNumber, pageSize, fresh: true },
            callOptions(),
          );
        },
        walkTotals: (walked, call) => {
          const read = redPacks.read(
            { pages, options: callOptions(), held: new RecordBudget(Number.MAX_SAFE_INTEGER) },
            filterOf(walked),
          );
          // Each page is paid for, and asked for only while someone listens: a walk of a topic
          // left half way asks for no other page (those in flight are let finish).
          const list = {
            ...read,
            fetchWholePage: async (pageNumber: number, pageSize: number, fresh: boolean) => {
              if (call) await budget.spend(call.signal, call.payer);
              return read.fetchWholePage(pageNumber, pageSize, fresh);
            },
          };
          return walkAll(list, limits.summaryMaxRecords, () => {
            const builder = redPackSummaryBuilder();
            let head: RedPackModel[] | undefined;
            return {
              // The walk's first page comes first: its head is what the totals were built on.
              add(items) {
                head ??= items.slice(0, HEAD_SIZE);
                builder.add(items);
              },
              build: (asOf) => ({ builder, head: head ?? [], asOf }),
            };
          });
        },
        describeError: (error) => {
          const wrapped =
            error instanceof GraphQLError
              ? error
              : new GraphQLError(error instanceof Error ? error.message : String(error), {
                  originalError: error instanceof Error ? error : undefined,
                });
          // The formatter maps the failure itself (a PolyvError, …): `wrapped` has no path, so it
          // would not be unwrapped, and every Polyv failure would become INTERNAL_SERVER_ERROR.
          const { message, extensions } = options.formatError(wrapped.toJSON(), error);
          return { message, extensions: extensions ?? {} };
        },
        now: Date.now,
      },
      resumeFrom,
      sequenceFrom,
    );

  const bus = new LiveBus({
    pollMs: live.pollMs,
    leaseMs: live.leaseMs,
    newPoller,
    redis: options.redis,
    logger: logger.child({ component: 'live' }),
    onPoll: () => metrics.livePolls.inc(),
  });
  const hub = new LiveHub(
    bus,
    {
      maxSubscriptions: live.maxSubscriptions,
      maxPerClient: live.maxPerClient,
      maxTopics: live.maxChannels,
      maxTopicsPerClient: live.maxChannelsPerClient,
      maxQueued: live.maxQueued,
    },
    budget,
    {
      subscribed: (field, delta) => metrics.liveSubscriptions.inc({ field }, delta),
      dropped: (reason) => metrics.liveDropped.inc({ reason }),
      delivered: (kind, count) => metrics.liveMessages.inc({ kind }, count),
    },
    // A SNAPSHOT waits for the first poll: one interval and a slow Polyv answer at most.
    live.pollMs + limits.requestTimeoutMs,
  );
  return { hub, bus };
}
