/**
 * How much a client may ask, decided before anything runs.
 *
 * - `requestShape` (express): the body must be one JSON object with a `query` string no longer
 *   than the document limit (or a persisted-query hash); batches are refused.
 * - `queryLimitsPlugin` (Apollo): after parsing and validation, one walk over the operation,
 *   fragments expanded and variables read, measures depth, aliases, root fields and cost.
 *
 * Cost estimates how many objects and fields an answer may hold: every field costs 1, and a
 * field's selection is multiplied by how many objects it can return: `first`/`last` (or the
 * default page of 20) under a connection's `edges`/`nodes`, the number of `ids` or entity
 * `representations`, RECEIVES_PER_RED_PACK for a red pack's `receives`, LIST_ESTIMATE for any
 * other list. Each connection also costs UPSTREAM_CALL_COST, for the Polyv page behind it.
 * Introspection (`__schema`, `__type`) is not counted; it is switched on or off on its own.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { ErrorCode } from '../errors.js';
import { DEFAULT_PAGE_SIZE } from '../pagination/connection.js';
import type { GatewayContext } from './context.js';
import { sendGraphQLError } from './httpErrors.js';

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDocumentBytes: number;
  maxCost: number;
  /** Connections one operation may resolve (each is one or two upstream calls). */
  maxUpstreamCalls: number;
}

/** Receives a red pack is assumed to have when estimating cost (Polyv does not bound them). */
export const RECEIVES_PER_RED_PACK = 20;
/** Objects any other list is assumed to hold. */
export const LIST_ESTIMATE = 10;
/** Extra cost of a connection: one upstream page call. */
export const UPSTREAM_CALL_COST = 50;
/**
 * A summary walks every page of a list: we cannot know how many before asking, so it is
 * estimated as this many page calls (20,000 records); GATEWAY_SUMMARY_MAX_RECORDS bounds the
 * real walk.
 */
export const SUMMARY_UPSTREAM_CALLS = 20;

export function requestShape(limits: Pick<QueryLimits, 'maxDocumentBytes'>): RequestHandler {
  return (request, response, next) => {
    if (request.method !== 'POST') {
      const extensions = request.query.extensions;
      if (typeof extensions === 'string' && extensions.includes('persistedQuery')) {
        const parsed = parseJson(extensions);
        const persistedQuery =
          typeof parsed === 'object' && parsed !== null && 'persistedQuery' in parsed
            ? parsed.persistedQuery
            : undefined;
        if (!isPersistedQuery(persistedQuery)) return badPersistedQuery(response);
      }
      const query = request.query.query;
      if (typeof query === 'string' && Buffer.byteLength(query) > limits.maxDocumentBytes) {
        return documentTooLarge(response, Buffer.byteLength(query), limits.maxDocumentBytes);
      }
      return next();
    }
    if (!request.is('application/json')) {
      return sendGraphQLError(
        response,
        415,
        ErrorCode.BadRequest,
        'Send GraphQL requests as JSON (Content-Type: application/json).',
      );
    }
    const body: unknown = request.body;
    if (Array.isArray(body)) {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'Batched requests are not supported: send one operation per request.',
      );
    }
    if (typeof body !== 'object' || body === null) {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'The request body must be a JSON object with a "query".',
      );
    }
    const query = 'query' in body ? body.query : undefined;
    const extensions = 'extensions' in body ? body.extensions : undefined;
    const persisted =
      typeof extensions === 'object' && extensions !== null && 'persistedQuery' in extensions;
    if (persisted && !isPersistedQuery(extensions.persistedQuery))
      return badPersistedQuery(response);
    if (query === undefined && persisted) return next();
    if (typeof query !== 'string') {
      return sendGraphQLError(
        response,
        400,
        ErrorCode.BadRequest,
        'The request body must have a "query" string.',
      );
    }
    const bytes = Buffer.byteLength(query);
    if (bytes > limits.maxDocumentBytes)
      return documentTooLarge(response, bytes, limits.maxDocumentBytes);
    next();
  };
}

/** Automatic persisted queries: version 1 and a SHA-256 hash, nothing else. */
function isPersistedQuery(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'version' in value &&
    value.version === 1 &&
    'sha256Hash' in value &&
    typeof value.sha256Hash === 'string' &&
    /^[0-9a-f]{64}$/.test(value.sha256Hash)
  );
}

function badPersistedQuery(response: Parameters<RequestHandler>[1]) {
  sendGraphQLError(
    response,
    400,
    ErrorCode.BadRequest,
    'extensions.persistedQuery must be { "version": 1, "sha256Hash": "<64 hex digits>" }.',
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function documentTooLarge(response: Parameters<RequestHandler>[1], actual: number, max: number) {
  sendGraphQLError(
    response,
    400,
    ErrorCode.QueryLimitExceeded,
    `The query document is ${actual} bytes; the limit is ${max}.`,
    {
      extensions: { limit: 'documentSize', max, actual },
    },
  );
}

/**
 * A validation rule: operations of a type this schema does not have (it only answers queries)
 * are invalid documents, answered 400 like any other validation error.
 */
export const KnownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(
        new GraphQLError(`This API has no ${node.operation} operations: it answers queries only.`, {
          nodes: node,
        }),
      );
    }
  },
});

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) return;
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION)
              fragments[definition.name.value] = definition;
          }
          const rootType =
            operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
          if (!rootType) return;
          const measure = new Measure(schema, fragments, request.variables ?? {});
          const cost = measure.selectionCost(operation.selectionSet, rootType, 1, undefined, 1);

          check('rootFields', measure.rootFields, limits.maxRootFields, 'root fields');
          check('aliases', measure.aliases, limits.maxAliases, 'aliases');
          check('depth', measure.maxDepth, limits.maxDepth, 'levels deep');
          check(
            'upstreamCalls',
            measure.upstreamCalls,
            limits.maxUpstreamCalls,
            'connections to resolve (each one or two Polyv calls)',
            ': one query must not use up the upstream budget every client shares',
          );
          check(
            'cost',
            cost,
            limits.maxCost,
            'estimated cost',
            ' (page sizes multiply the cost of what is below them: ask for smaller pages or fewer fields)',
          );
        },
      };
    },
  };
}

type Limit = 'depth' | 'aliases' | 'rootFields' | 'cost' | 'upstreamCalls';

function check(limit: Limit, actual: number, max: number, what: string, hint = ''): void {
  if (actual <= max) return;
  throw new GraphQLError(
    `The query has ${Math.ceil(actual)} ${what}; the limit is ${max}${hint}.`,
    {
      extensions: {
        code: ErrorCode.QueryLimitExceeded,
        limit,
        max,
        actual: Math.ceil(actual),
        http: { status: 400 },
      },
    },
  );
}

/** One walk over an operation, counting as it goes. */
class Measure {
  aliases = 0;
  rootFields = 0;
  /** Connection fields the operation resolves, counting every list item above them. */
  upstreamCalls = 0;
  maxDepth = 0;
  private readonly expanding = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Record<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
  ) {}

  /**
   * Cost of a selection set on `parent`, each field at `depth`, inside a connection of
   * `pageSize`, resolved `fanout` times (the product of the lists above it).
   */
  selectionCost(
    selectionSet: SelectionSetNode,
    parent: GraphQLObjectType,
    depth: number,
    pageSize: number | undefined,
    fanout: number,
  ): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += this.fieldCost(selection, parent, depth, pageSize, fanout);
      } else {
        const fragment =
          selection.kind === Kind.INLINE_FRAGMENT
            ? selection
            : this.fragments[selection.name.value];
        if (!fragment) continue;
        // Validation already rejects fragment cycles; this only guards the walk itself.
        const name = selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : undefined;
        if (name && this.expanding.has(name)) continue;
        if (name) this.expanding.add(name);
        const condition = fragment.typeCondition
          ? this.schema.getType(fragment.typeCondition.name.value)
          : parent;
        cost += this.selectionCost(
          fragment.selectionSet,
          isObjectType(condition) ? condition : parent,
          depth,
          pageSize,
          fanout,
        );
        if (name) this.expanding.delete(name);
      }
    }
    return cost;
  }

  private fieldCost(
    field: FieldNode,
    parent: GraphQLObjectType,
    depth: number,
    pageSize: number | undefined,
    fanout: number,
  ): number {
    const name = field.name.value;
    if (name === '__schema' || name === '__type') return 0;
    if (depth === 1) this.rootFields++;
    if (field.alias) this.aliases++;
    this.maxDepth = Math.max(this.maxDepth, depth);

    const definition = parent.getFields()[name];
    if (!definition || !field.selectionSet) return 1;
    const returned = getNamedType(definition.type);
    if (!isObjectType(returned) && returned.name !== '_Entity') return 1;

    const isConnection = returned.name.endsWith('Connection');
    const isSummary = returned.name.endsWith('Summary');
    if (isSummary) this.upstreamCalls += fanout * SUMMARY_UPSTREAM_CALLS;
    const childPageSize = isConnection
      ? (this.intArgument(field, 'first') ?? this.intArgument(field, 'last') ?? DEFAULT_PAGE_SIZE)
      : pageSize;
    const multiplier = this.multiplier(
      field,
      name,
      isListType(getNullableType(definition.type)),
      pageSize,
    );
    // Entities (_Entity is a union) are measured as Channels: the only type we resolve.
    const childType = isObjectType(returned) ? returned : this.schema.getType('Channel');
    if (!isObjectType(childType)) return 1;
    if (isConnection) this.upstreamCalls += fanout;
    const children = this.selectionCost(
      field.selectionSet,
      childType,
      depth + 1,
      childPageSize,
      fanout * multiplier,
    );
    const upstreamCost = isConnection
      ? UPSTREAM_CALL_COST
      : isSummary
        ? SUMMARY_UPSTREAM_CALLS * UPSTREAM_CALL_COST
        : 0;
    return 1 + upstreamCost + multiplier * children;
  }

  private multiplier(
    field: FieldNode,
    name: string,
    isList: boolean,
    pageSize: number | undefined,
  ): number {
    if (pageSize !== undefined && (name === 'edges' || name === 'nodes')) return pageSize;
    if (name === 'channels') return this.listArgumentLength(field, 'ids') ?? LIST_ESTIMATE;
    if (name === '_entities')
      return this.listArgumentLength(field, 'representations') ?? LIST_ESTIMATE;
    if (name === 'receives') return RECEIVES_PER_RED_PACK;
    return isList ? LIST_ESTIMATE : 1;
  }

  private argument(field: FieldNode, name: string): unknown {
    const node = field.arguments?.find((argument) => argument.name.value === name)?.value;
    return node === undefined ? undefined : this.valueOf(node);
  }

  private valueOf(node: ValueNode): unknown {
    switch (node.kind) {
      case Kind.VARIABLE:
        return this.variables[node.name.value];
      case Kind.INT:
        return Number(node.value);
      case Kind.LIST:
        return node.values.map((value) => this.valueOf(value));
      default:
        return undefined;
    }
  }

  private intArgument(field: FieldNode, name: string): number | undefined {
    const value = this.argument(field, name);
    // Invalid values fail argument validation later; count them as the largest page.
    if (value === undefined || value === null) return undefined;
    return typeof value === 'number' && Number.isInteger(value) && value >= 0
      ? Math.min(value, 1000)
      : 1000;
  }

  private listArgumentLength(field: FieldNode, name: string): number | undefined {
    const value = this.argument(field, name);
    return Array.isArray(value) ? value.length : undefined;
  }
}
