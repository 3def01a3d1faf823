/**
 * Resolvers, typed by codegen from schema.graphql. Fields not listed here are read straight
 * off our internal models (src/domain/models.ts).
 */
import { fenToDecimal } from '../domain/convert.js';
import { badUserInput } from '../errors.js';
import type { Resolvers } from '../generated/graphql.js';
import type { GatewayContext } from '../server/context.js';
import { resolveConnection } from '../pagination/connection.js';
import {
  channelIdArgument,
  dayRange,
  isChannelNumber,
  sessionIdArgument,
  timeRange,
} from './arguments.js';
import { incomeList, redPackList } from './lists.js';
import { DateScalar, DateTimeScalar, DecimalScalar } from './scalars.js';

const channelOf = (id: string) => (isChannelNumber(id) ? { id } : null);

/** A connection's answer may be reused for as long as the Polyv page behind it is cached. */
const reusableFor = (context: GatewayContext, seconds: number) =>
  context.cachePolicy.restrict(seconds);

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Date: DateScalar,
  Decimal: DecimalScalar,

  Query: {
    channel: (_, { id }) => channelOf(id),
    channels: (_, { ids }) => ids.map(channelOf),
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
    // Federation: another subgraph hands us `{ id }`; any channel number is a channel.
    __resolveReference: (reference) => {
      const id: unknown = reference.id;
      if (typeof id !== 'string')
        throw badUserInput(
          'A Channel representation needs `id`, a channel number as a string.',
          'representations',
        );
      return channelOf(id);
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
