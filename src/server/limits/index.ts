/**
 * What one operation may take (Apollo plugin): after parsing and validation, the operation is
 * measured with the arguments the executor will use (cost.ts: depth, aliases, root fields, list
 * sizes, cost, upstream calls and records, in time linear in the document, with the schema's
 * @cost and @listSize). Then, while it runs: at most so many operations execute at once
 * (runtime.ts), its upstream calls and the records of the pages it keeps are counted where they
 * are made (src/polyv/pages.ts), and its answer must fit the size bound (checked on its bytes,
 * server/graphqlHandler.ts). The request's shape is
 * checked before all this (requestShape.ts), and our validation rules run with graphql-js's
 * (validation.ts).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context.js';
import { measureRequest, type CostLimits } from './cost.js';
import { ConcurrencyGate } from './runtime.js';

export { LIST_ESTIMATE, summaryPages } from './cost.js';

export interface QueryLimits extends CostLimits {
  maxDocumentBytes: number;
  /** Operations executing at once, and how many more may wait for a turn. */
  maxConcurrentOperations: number;
  /** Records all running operations may hold together (their estimates): what bounds the heap. */
  maxRecordsInFlight: number;
  maxQueuedOperations: number;
}

/**
 * Answer fields (cost) that weigh as much as one record held: a red pack with 20 receives,
 * every field asked, is about 200 fields and 11.7 kB held; its part of the answer being built
 * is of the same order. So a query of many cheap fields and few records still takes its share.
 */
const COST_PER_RECORD = 100;

/** What an operation may hold while it runs, in records: its pages or its answer. */
export const heldWeight = (measure: { records: number; cost: number }) =>
  Math.max(measure.records, Math.ceil(measure.cost / COST_PER_RECORD));

/** The one execution gate of a server: queries and subscription snapshots take turns in it. */
export const executionGate = (limits: QueryLimits) =>
  new ConcurrencyGate({
    maxActive: limits.maxConcurrentOperations,
    maxRecords: limits.maxRecordsInFlight,
    maxQueued: limits.maxQueuedOperations,
  });

export function queryLimitsPlugin(
  limits: QueryLimits,
  gate: ConcurrencyGate,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async didResolveOperation({ document, operation, request, schema, contextValue }) {
          if (!operation) return;
          const measure = measureRequest(schema, document, operation, request.variables, limits);
          if (!measure) return;
          release = await gate.acquire(
            heldWeight(measure),
            contextValue.deadline,
            contextValue.client,
          );
        },
        async willSendResponse() {
          release?.();
          release = undefined;
        },
      };
    },
  };
}
