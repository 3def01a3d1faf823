/**
 * Resolvers, typed by codegen from schema.graphql. Fields not listed here are read straight
 * off our internal models (src/domain/models.ts); list fields (connections) are resolved by
 * schema/lists.ts, from their lists' declarations.
 */
import { authorise } from '../auth/authorise.js';
import { incomeSummaryBuilder, redPackSummaryBuilder } from '../domain/summaries.js';
import type { Resolvers } from '../generated/graphql.js';
import { walkAll } from '../pagination/walk.js';
import {
  channelArgument,
  channelIdArgument,
  sessionIdArgument,
  summaryDayRange,
} from './arguments.js';
import { badUserInput } from './clientErrors.js';
import { FormattedLiveError, type LiveItem } from '../live/hub.js';
import type { Topic } from '../live/poller.js';
import type { LiveContext, ResolverContext } from './context.js';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../publicErrors.js';
import { filterFrom, readList } from './lists.js';
import { DateScalar, DateTimeScalar, DecimalScalar } from './scalars.js';

/**
 * A channel this request may name: a channel number, allowed to the key. Refused before any
 * upstream call, whatever is selected on it: `{ id }` alone is still another channel's data.
 */
function channelOf(context: ResolverContext, id: string, argument: string): { id: string } {
  const channelId = channelArgument(id, argument);
  authorise(context.principal, channelId);
  return { id: channelId };
}

/**
 * What a subscription follows, checked like a query's arguments, and allowed to this key before
 * anything is polled.
 */
function liveTopic(
  context: ResolverContext,
  channelId: string,
  sessionId: string | null | undefined,
): Topic {
  const topic = {
    channelId: channelArgument(channelId, 'channelId'),
    sessionId: sessionIdArgument(sessionId),
  };
  authorise(context.principal, topic.channelId);
  return topic;
}

function liveOf(context: ResolverContext): LiveContext {
  if (!context.live)
    throw new GraphQLError('Subscriptions are served over WebSocket or Server-Sent Events.', {
      extensions: { code: ErrorCode.BadRequest },
    });
  return context.live;
}

/** A subscription's item: its data, or the error it carries (the stream stays open). */
function unwrapLive<T>(item: LiveItem<T>): T {
  if ('error' in item) throw new FormattedLiveError(item.error);
  return item.data;
}

/** The income of a summary's day range (at most a year), for the request's account. */
const incomeOf = (
  context: ResolverContext,
  range: { startDate: string; endDate: string },
  channelId: string | undefined,
) => readList(context, 'incomeDetail', { userId: context.accountId, ...range, channelId });

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Date: DateScalar,
  Decimal: DecimalScalar,

  Query: {
    incomeSummary: (_, { startDate, endDate, channelId }, context) => {
      const range = summaryDayRange(startDate, endDate);
      const list = incomeOf(context, range, channelIdArgument(channelId, 'channelId'));
      return walkAll(list, context.summaryMaxRecords, () =>
        incomeSummaryBuilder(range.startDate, range.endDate),
      );
    },
    channel: (_, { id }, context) => channelOf(context, id, 'id'),
    channels: (_, { ids }, context) => {
      // Every id must be a channel number (else the field fails, naming it); a channel the key
      // may not read fails only its own item.
      for (const id of ids) channelArgument(id, 'ids');
      // Async: a refused item is a rejected promise, which nulls that item alone.
      return ids.map(async (id) => channelOf(context, id, 'ids'));
    },
  },

  Channel: {
    redPackSummary: (channel, args, context) => {
      const filter = filterFrom('redPackStatistics', { channelId: channel.id, args, context });
      const list = readList(context, 'redPackStatistics', filter);
      return walkAll(list, context.summaryMaxRecords, redPackSummaryBuilder);
    },
    incomeSummary: (channel, { startDate, endDate }, context) => {
      const range = summaryDayRange(startDate, endDate);
      const list = incomeOf(context, range, channel.id);
      return walkAll(list, context.summaryMaxRecords, () =>
        incomeSummaryBuilder(range.startDate, range.endDate),
      );
    },
    // Federation: another subgraph hands us `{ id }`; any channel number is a channel. Async so
    // that a refusal fails only its own representation (a synchronous throw would fail them all).
    __resolveReference: async (reference, context) => {
      const id: unknown = reference.id;
      if (typeof id !== 'string')
        throw badUserInput(
          'A Channel representation needs `id`, a channel number as a string.',
          'representations',
        );
      return channelOf(context, id, 'representations');
    },
  },

  Subscription: {
    redPackEvents: {
      subscribe: async (_, { channelId, sessionId, recent }, context) => {
        const live = liveOf(context);
        const topic = liveTopic(context, channelId, sessionId);
        if (!Number.isInteger(recent) || recent < 0 || recent > 100)
          throw badUserInput(
            `\`recent\` must be a whole number from 0 to 100; got ${recent}.`,
            'recent',
          );
        // The hub's place first (its limits; a channel it did not follow is paid from the key's
        // live budget), then the subscription's own (its document, its snapshot's turn).
        const place = await live.hub.reserve(topic, context.client);
        try {
          return await live.admit((beforeSnapshot) =>
            live.hub.redPackEvents(place, recent, {
              client: context.client,
              onDrop: live.drop,
              beforeSnapshot,
            }),
          );
        } finally {
          place.release();
        }
      },
      resolve: unwrapLive,
    },
    channelTotals: {
      subscribe: async (_, { channelId, sessionId }, context) => {
        const live = liveOf(context);
        const topic = liveTopic(context, channelId, sessionId);
        const place = await live.hub.reserve(topic, context.client);
        try {
          return await live.admit(() =>
            live.hub.channelTotals(place, { client: context.client, onDrop: live.drop }),
          );
        } finally {
          place.release();
        }
      },
      resolve: unwrapLive,
    },
  },

  RedPackSummary: {
    topReceivers: (summary, { first }) => {
      if (!Number.isInteger(first) || first < 1 || first > 100) {
        throw badUserInput(
          `\`first\` must be a whole number from 1 to 100; got ${first}.`,
          'first',
        );
      }
      return summary.receivers.slice(0, first);
    },
  },

  RedPack: {
    channel: (redPack) => ({ id: redPack.channelId }),
    receiveCount: (redPack) => redPack.receives.length,
  },

  IncomeRecord: {
    channel: (record) => ({ id: record.channelId }),
  },
};
