/**
 * Resolvers, typed by codegen from schema.graphql. Fields not listed here are read straight
 * off our internal models (src/domain/models.ts).
 */
import { fenToDecimal } from '../domain/convert.js';
import { incomeSummaryBuilder, redPackSummaryBuilder } from '../domain/summaries.js';
import { walkAll } from '../pagination/walk.js';
import { badUserInput } from './clientErrors.js';
import type { Resolvers } from '../generated/graphql.js';
import type { GatewayContext } from '../server/context.js';
import { resolveConnection } from '../pagination/connection.js';
import {
  channelArgument,
  channelIdArgument,
  dayRange,
  sessionIdArgument,
  timeRange,
} from './arguments.js';
import { incomeList, redPackList } from './lists.js';
import { DateScalar, DateTimeScalar, DecimalScalar } from './scalars.js';

/** A connection's answer may be reused for as long as the Polyv page behind it is cached. */
const reusableFor = (context: GatewayContext, seconds: number) =>
  context.cachePolicy.restrict(seconds);

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Date: DateScalar,
  Decimal: DecimalScalar,

  Query: {
    incomeSummary: async (_, { startDate, endDate, channelId }, context) => {
      reusableFor(context, context.cacheMaxAge.incomeDetail);
      const range = dayRange(startDate, endDate);
      const list = incomeList(context, {
        userId: context.accountId,
        ...range,
        channelId: channelIdArgument(channelId, 'channelId'),
      });
      return walkAll(list, context.summaryMaxRecords, () =>
        incomeSummaryBuilder(range.startDate, range.endDate),
      );
    },
    channel: (_, { id }) => ({ id: channelArgument(id, 'id') }),
    channels: (_, { ids }) => ids.map((id) => ({ id: channelArgument(id, 'ids') })),
    incomeRecords: (_, { startDate, endDate, channelId, ...page }, context) => {
      reusableFor(context, context.cacheMaxAge.incomeDetail);
      return resolveConnection(
        incomeList(context, {
          userId: context.accountId,
          ...dayRange(startDate, endDate),
          channelId: channelIdArgument(channelId, 'channelId'),
        }),
        page,
      );
    },
  },

  Channel: {
    redPackSummary: async (channel, { sessionId, startTime, endTime }, context) => {
      reusableFor(context, context.cacheMaxAge.redPackStatistics);
      const list = redPackList(context, {
        channelId: channel.id,
        sessionId: sessionIdArgument(sessionId),
        ...timeRange(startTime, endTime),
      });
      return walkAll(list, context.summaryMaxRecords, redPackSummaryBuilder);
    },
    incomeSummary: async (channel, { startDate, endDate }, context) => {
      reusableFor(context, context.cacheMaxAge.incomeDetail);
      const range = dayRange(startDate, endDate);
      const list = incomeList(context, {
        userId: context.accountId,
        ...range,
        channelId: channel.id,
      });
      return walkAll(list, context.summaryMaxRecords, () =>
        incomeSummaryBuilder(range.startDate, range.endDate),
      );
    },
    // Federation: another subgraph hands us `{ id }`; any channel number is a channel. Async so
    // that a refusal fails only its own representation (a synchronous throw would fail them all).
    __resolveReference: async (reference) => {
      const id: unknown = reference.id;
      if (typeof id !== 'string')
        throw badUserInput(
          'A Channel representation needs `id`, a channel number as a string.',
          'representations',
        );
      return { id: channelArgument(id, 'representations') };
    },
    redPacks: (channel, { sessionId, startTime, endTime, ...page }, context) => {
      reusableFor(context, context.cacheMaxAge.redPackStatistics);
      return resolveConnection(
        redPackList(context, {
          channelId: channel.id,
          sessionId: sessionIdArgument(sessionId),
          ...timeRange(startTime, endTime),
        }),
        page,
      );
    },
    incomeRecords: (channel, { startDate, endDate, ...page }, context) => {
      reusableFor(context, context.cacheMaxAge.incomeDetail);
      return resolveConnection(
        incomeList(context, {
          userId: context.accountId,
          ...dayRange(startDate, endDate),
          channelId: channel.id,
        }),
        page,
      );
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

  Money: {
    amount: (money) => fenToDecimal(money.fen),
  },
};
