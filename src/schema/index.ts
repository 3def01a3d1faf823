/** The executable subgraph schema: schema.graphql (the source of truth) plus our resolvers. */
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  isObjectType,
  Kind,
  parse,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { projectFile } from '../projectFiles.js';
import { badUserInput } from './clientErrors.js';
import type { Resolvers } from '../generated/graphql.js';
import { listFieldResolvers } from './lists.js';
import { resolvers } from './resolvers.js';

/** schema.graphql sits at the package root. */
export const SCHEMA_PATH = projectFile('schema.graphql');

export const typeDefs = parse(readFileSync(SCHEMA_PATH, 'utf8'));

export function buildSchema(): GraphQLSchema {
  const schema = buildSubgraphSchema([
    { typeDefs, resolvers: refusingUnresolvable(typeDefs, withListFields(resolvers)) },
  ]);
  checkingEntityTypesFirst(schema);
  return schema;
}

/** The hand-written resolvers and every list field's (schema/lists.ts), by type. */
function withListFields(map: Resolvers): Resolvers {
  const merged: Record<string, object> = { ...map };
  for (const [type, fields] of Object.entries(listFieldResolvers(typeDefs, map)))
    merged[type] = { ...merged[type], ...fields };
  return merged;
}

/**
 * @apollo/subgraph resolves `_entities` in one map over the representations and throws, in the
 * middle of it, at the first `__typename` the schema does not have: the items started before it
 * (our reference resolvers are async, so that a refusal fails only its own item) are then left
 * as promises nobody awaits, and a rejected one is an unhandled rejection, which ends a Node
 * process. So every `__typename` is checked before any item starts, and an unknown one refuses
 * the whole list as the client's error.
 */
function checkingEntityTypesFirst(schema: GraphQLSchema): void {
  const entities = schema.getQueryType()?.getFields()['_entities'];
  const resolve = entities?.resolve;
  if (!entities || !resolve) return;
  entities.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = Array.isArray(args.representations) ? args.representations : [];
    for (const representation of representations) {
      const typename: unknown =
        typeof representation === 'object' && representation !== null
          ? (representation as { __typename?: unknown }).__typename
          : undefined;
      const type = typeof typename === 'string' ? schema.getType(typename) : undefined;
      if (!isObjectType(type) || !type.extensions?.['apollo'])
        throw badUserInput(
          `Invalid entity representation: ${JSON.stringify(typename) ?? 'no __typename'} is not an entity type of this subgraph.`,
          'representations',
        );
    }
    return resolve(source, args, context, info);
  };
}

/**
 * Entity types whose every @key says `resolvable: false`: a router never asks us for one, but any
 * client can send `_entities` a representation of one, and without a reference resolver that bare
 * representation would reach field resolvers that expect a Polyv record. Each such type refuses
 * its representations instead, read off the schema so a type declared so later is covered too.
 */
function refusingUnresolvable(document: DocumentNode, map: Resolvers): Resolvers {
  const refusing: Record<string, object> = { ...map };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const keys = definition.directives?.filter((directive) => directive.name.value === 'key');
    if (!keys?.length || !keys.every(isUnresolvable)) continue;
    const type = definition.name.value;
    refusing[type] = {
      ...refusing[type],
      // Async: a refusal fails only this representation, not the whole `_entities` list.
      __resolveReference: async () => {
        throw badUserInput(
          `${type} cannot be fetched by its key: Polyv has no way to look one up (its @key is resolvable: false). Reach it through a Channel or a list.`,
          'representations',
        );
      },
    };
  }
  return refusing;
}

const isUnresolvable = (key: ConstDirectiveNode) =>
  key.arguments?.some(
    (argument) =>
      argument.name.value === 'resolvable' &&
      argument.value.kind === Kind.BOOLEAN &&
      argument.value.value === false,
  ) ?? false;
