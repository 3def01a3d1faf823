/**
 * Every list field, resolved by one resolver. A field whose type is a declared list's connection
 * (`${node}Connection`, with the list declared beside its endpoint in polyv/endpoints.ts) reads
 * that list: each filter from where the declaration says (the Channel the field is on, the
 * request's account, an argument of the source's name), checked as an argument, the key allowed
 * the channel before any upstream call, the window from `first`/`after`/`last`/`before`. So a new
 * list needs no resolver, and no list field can skip the checks another one makes.
 */
import { Kind, type DocumentNode, type FieldDefinitionNode, type TypeNode } from 'graphql';
import { authorise } from '../auth/authorise.js';
import { listOf } from '../lists/list.js';
import { resolveConnection, type ConnectionArgs } from '../pagination/connection.js';
import {
  ENDPOINT_IDS,
  POLYV_ENDPOINTS,
  type EndpointId,
  type FilterOf,
  type FilterSource,
} from '../polyv/endpoints.js';
import { channelIdArgument, dayRange, sessionIdArgument, timeRange } from './arguments.js';
import type { ResolverContext } from './context.js';

/**
 * A declared list as this request may read it: the key must allow its channel (or, without one,
 * the whole account) before any upstream call, and the answer may be reused only for as long as
 * the list's pages stay cached.
 */
export function readList<E extends EndpointId>(
  context: ResolverContext,
  endpoint: E,
  filter: FilterOf<E>,
) {
  const list = listOf(endpoint);
  authorise(context.principal, list.channelOf(filter));
  const readable = list.read(context.polyv, filter);
  context.cachePolicy.restrict(readable.maxAgeSeconds);
  return readable;
}

type Arguments = Record<string, unknown>;

/**
 * A list's filters from a field's parent, arguments and request, each checked as its source
 * says (polyv/endpoints.ts FilterSource). `channel` is the parent's id on a Channel (already
 * checked and allowed when the Channel was resolved), else the optional `channelId` argument.
 */
export function filterFrom<E extends EndpointId>(
  endpoint: E,
  source: { channelId?: string | undefined; args: Arguments; context: ResolverContext },
): FilterOf<E> {
  const { args, context } = source;
  const text = (name: string) => args[name] as string | null | undefined;
  const instant = (name: string) => args[name] as Date | null | undefined;
  const filters: Readonly<Record<string, FilterSource>> = POLYV_ENDPOINTS[endpoint].list.filters;
  const sources = new Set(Object.values(filters));
  const times = sources.has('startTime') || sources.has('endTime');
  const days = sources.has('startDate') || sources.has('endDate');
  const checked: Record<FilterSource, string | number | undefined> = {
    channel:
      'channelId' in source ? source.channelId : channelIdArgument(text('channelId'), 'channelId'),
    account: context.accountId,
    sessionId: sessionIdArgument(text('sessionId')),
    ...(times ? timeRange(instant('startTime'), instant('endTime')) : {}),
    ...(days ? dayRange(text('startDate') ?? '', text('endDate') ?? '') : {}),
  } as Record<FilterSource, string | number | undefined>;
  return Object.fromEntries(
    Object.entries(filters).map(([name, from]) => [name, checked[from]]),
  ) as FilterOf<E>;
}

/** The name of the type a field's type is made of, through its lists and non-nulls. */
export const namedType = (type: TypeNode): string =>
  type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);

type ListField = (
  parent: { id?: string },
  args: Arguments & ConnectionArgs,
  context: ResolverContext,
) => unknown;

/**
 * The resolvers of every list field in the schema, by type and field. Refuses to start when a
 * declared list's connection type is missing (a misnamed `node`) or its field already has a
 * resolver (one mechanism, never two).
 */
export function listFieldResolvers(
  document: DocumentNode,
  handWritten: Readonly<Record<string, unknown>>,
): Record<string, Record<string, ListField>> {
  const endpointOfConnection = new Map(
    ENDPOINT_IDS.map((endpoint) => [`${POLYV_ENDPOINTS[endpoint].list.node}Connection`, endpoint]),
  );
  const resolvers: Record<string, Record<string, ListField>> = {};
  const read = new Set<EndpointId>();
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION
    )
      continue;
    const type = definition.name.value;
    for (const field of definition.fields ?? []) {
      const endpoint = endpointOfConnection.get(namedType(field.type));
      if (endpoint === undefined) continue;
      const written = handWritten[type] as Record<string, unknown> | undefined;
      if (written?.[field.name.value] !== undefined)
        throw new Error(
          `${type}.${field.name.value} reads the ${endpoint} list: schema/lists.ts resolves it; remove its hand-written resolver`,
        );
      (resolvers[type] ??= {})[field.name.value] = listField(type, field, endpoint);
      read.add(endpoint);
    }
  }
  for (const endpoint of ENDPOINT_IDS)
    if (!read.has(endpoint))
      throw new Error(
        `No field of schema.graphql has the type ${POLYV_ENDPOINTS[endpoint].list.node}Connection, which the ${endpoint} list declares (polyv/endpoints.ts)`,
      );
  return resolvers;
}

function listField(type: string, field: FieldDefinitionNode, endpoint: EndpointId): ListField {
  const onChannel = type === 'Channel';
  const argumentNames = new Set(field.arguments?.map((argument) => argument.name.value));
  for (const [name, from] of Object.entries(POLYV_ENDPOINTS[endpoint].list.filters)) {
    const needs = from === 'channel' ? (onChannel ? undefined : 'channelId') : from;
    if (needs !== undefined && needs !== 'account' && !argumentNames.has(needs))
      throw new Error(
        `${type}.${field.name.value} reads the ${endpoint} list, whose filter ${name} comes from an argument \`${needs}\` the field does not have`,
      );
  }
  return (parent, args, context) => {
    const filter = filterFrom(endpoint, {
      ...(onChannel ? { channelId: parent.id } : {}),
      args,
      context,
    });
    const { first, after, last, before } = args;
    return resolveConnection(readList(context, endpoint, filter), { first, after, last, before });
  };
}
