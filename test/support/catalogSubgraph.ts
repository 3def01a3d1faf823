/**
 * A second, small subgraph for federation tests: a "catalog" service that owns each channel's
 * title and a root field returning channels, as a customer's own subgraph would.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { DEMO_CHANNELS } from '../../emulator/index.js';

export const catalogTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  type Query {
    "The demo account's channels, in catalog order."
    featuredChannels: [Channel!]!
    "Channels by number; the catalog titles unknown ones 'Channel <id>'."
    channelsByIds(ids: [ID!]!): [Channel!]!
  }

  type Channel @key(fields: "id") {
    id: ID!
    title: String!
  }
`);

const titleOf = (id: string) =>
  DEMO_CHANNELS.find((channel) => channel.channelId === id)?.name ?? `Channel ${id}`;

export interface CatalogSubgraph {
  url: string;
  /** The representations of each `_entities` request the catalog was sent, in order. */
  entityRequests: unknown[][];
  stop(): Promise<void>;
}

export async function startCatalogSubgraph(): Promise<CatalogSubgraph> {
  const entityRequests: unknown[][] = [];
  const server = new ApolloServer({
    schema: buildSubgraphSchema([
      {
        typeDefs: catalogTypeDefs,
        resolvers: {
          Query: {
            featuredChannels: () => DEMO_CHANNELS.map((channel) => ({ id: channel.channelId })),
            channelsByIds: (_: unknown, { ids }: { ids: string[] }) => ids.map((id) => ({ id })),
          },
          Channel: {
            __resolveReference: ({ id }: { id: string }) => ({ id }),
            title: ({ id }: { id: string }) => titleOf(id),
          },
        },
      },
    ]),
    plugins: [
      {
        // What a router asked of the catalog: how many times, for which channels.
        async requestDidStart({ request }) {
          const representations = request.variables?.['representations'];
          if (Array.isArray(representations)) entityRequests.push(representations);
        },
      },
    ],
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, entityRequests, stop: () => server.stop() };
}
