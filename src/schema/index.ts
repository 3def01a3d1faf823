/** The executable subgraph schema: schema.graphql (the source of truth) plus our resolvers. */
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { parse } from 'graphql';
import { resolvers } from './resolvers.js';

/** schema.graphql sits at the package root, two levels above both src/schema and dist/schema. */
export const SCHEMA_PATH = new URL('../../schema.graphql', import.meta.url);

export const typeDefs = parse(readFileSync(SCHEMA_PATH, 'utf8'));

export function buildSchema(): GraphQLSchema {
  return buildSubgraphSchema([{ typeDefs, resolvers }]);
}
