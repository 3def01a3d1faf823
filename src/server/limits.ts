/**
 * How much a client may ask, and what one operation may take.
 *
 * - `requestShape` (express): the body must be one JSON object with a `query` string no longer
 *   than the document limit (or a persisted-query hash); batches are refused.
 * - `queryLimitsPlugin` (Apollo): after parsing and validation, the operation is measured with
 *   the arguments the executor will use (limits/cost.ts: depth, aliases, root fields, list
 *   sizes, cost, upstream calls and records, in time linear in the document). Then, while it
 *   runs: at most so many operations execute at once (limits/runtime.ts), its upstream calls
 *   and the records of the pages it keeps are counted where they are made
 *   (src/polyv/pages.ts), and its answer must fit the size bound.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import {
  getVariableValues,
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from '../publicErrors.js';
import type { GatewayContext } from './context.js';
import { sendGraphQLError } from './httpErrors.js';
import { measureOperation, type CostLimits } from './limits/cost.js';
import { answerTooLarge, ConcurrencyGate, jsonBytesWithin } from './limits/runtime.js';

export { LIST_ESTIMATE, summaryPages } from './limits/cost.js';

export interface QueryLimits extends CostLimits {
  maxDocumentBytes: number;
  /** Largest answer, in bytes of JSON. */
  maxResponseBytes: number;
  /** Operations executing at once, and how many more may wait for a turn. */
  maxConcurrentOperations: number;
  /** Records all running operations may hold together (their estimates): what bounds the heap. */
  maxRecordsInFlight: number;
  maxQueuedOperations: number;
}

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

/**
 * Answer fields (cost) that weigh as much as one record held: a red pack with 20 receives,
 * every field asked, is about 200 fields and 11.7 kB held; its part of the answer being built
 * is of the same order. So a query of many cheap fields and few records still takes its share.
 */
const COST_PER_RECORD = 100;

/** What an operation may hold while it runs, in records: its pages or its answer. */
const heldWeight = (measure: { records: number; cost: number }) =>
  Math.max(measure.records, Math.ceil(measure.cost / COST_PER_RECORD));

export function queryLimitsPlugin(limits: QueryLimits): ApolloServerPlugin<GatewayContext> {
  const gate = new ConcurrencyGate({
    maxActive: limits.maxConcurrentOperations,
    maxRecords: limits.maxRecordsInFlight,
    maxQueued: limits.maxQueuedOperations,
  });
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async didResolveOperation({ document, operation, request, schema, contextValue }) {
          if (!operation) return;
          const root = schema.getRootType(operation.operation);
          if (!root) return;
          const coerced = getVariableValues(
            schema,
            operation.variableDefinitions ?? [],
            request.variables ?? {},
          );
          // Variables that do not coerce stop the executor before any resolver runs (the
          // client gets its BAD_USER_INPUT from it): there is nothing to measure.
          if (coerced.errors) return;
          const fragments = new Map<string, FragmentDefinitionNode>();
          for (const definition of document.definitions) {
            if (definition.kind === Kind.FRAGMENT_DEFINITION)
              fragments.set(definition.name.value, definition);
          }
          const measure = measureOperation(
            schema,
            fragments,
            coerced.coerced,
            root,
            operation.selectionSet,
            limits,
          );
          release = await gate.acquire(
            heldWeight(measure),
            contextValue.deadline,
            contextValue.client,
          );
        },
        async willSendResponse({ response }) {
          // Synchronous up to here, so plugins registered after this one see the replacement.
          release?.();
          release = undefined;
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (jsonBytesWithin(result, limits.maxResponseBytes) !== undefined) return;
          const error = answerTooLarge(limits.maxResponseBytes);
          response.body.singleResult = {
            data: null,
            errors: [{ message: error.message, extensions: error.extensions }],
          };
        },
      };
    },
  };
}
