/**
 * How operations execute: graphql-jit compiles a repeated operation once into plain JavaScript,
 * and every later request with the same document runs that function instead of graphql-js's
 * interpreter, which resolves every field of every record through generic code (argument
 * coercion, path and info objects, promise checks per field). On a cold dashboard answer
 * (100 red packs, ~10,000 fields) the interpreter was most of the gateway's own CPU.
 *
 * Apollo Server 5 has one hook for an executor, its gateway interface: this "gateway" serves our
 * one schema and runs the compiled operation. Everything before execution (parsing, validation,
 * our limits, plugins) and after it (error formatting, cache hints) is Apollo's as before.
 *
 * Requests for a federated trace (`apollo-federation-include-trace`) run on graphql-js: the
 * trace is built from per-field hooks, which compiled code does not call.
 */
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  GraphQLError,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

type Gateway = ApolloServerOptionsWithGateway<never>['gateway'];

/**
 * Documents whose compiled code is kept. A compiled operation costs a few milliseconds to build
 * and tens of kilobytes to keep, so only documents seen again are compiled: a dashboard's
 * query from its second request on, never a one-off (ad hoc queries, an attacker's endless
 * fresh documents), which graphql-js runs as it always did.
 */
const COMPILED_DOCUMENTS = 100;
/** Documents remembered as seen once, waiting for a second sighting. */
const SEEN_DOCUMENTS = 1_000;

type Compiled = CompiledQuery | ExecutionResult;

export function compiledExecutor(schema: GraphQLSchema): Gateway {
  // Apollo keeps one parsed document per query text (its document store), so the same text
  // comes back as the same object: compiled code is found by reference.
  const compiled = new LRUCache<DocumentNode, Map<string, Compiled>>({ max: COMPILED_DOCUMENTS });
  const seenOnce = new LRUCache<DocumentNode, true>({ max: SEEN_DOCUMENTS });
  /** The compiled operation, or undefined while the document has been seen only once. */
  const compiledFor = (document: DocumentNode, operationName: string | undefined) => {
    let byName = compiled.get(document);
    if (!byName) {
      if (!seenOnce.has(document)) {
        seenOnce.set(document, true);
        return undefined;
      }
      seenOnce.delete(document);
      compiled.set(document, (byName = new Map()));
    }
    let operation = byName.get(operationName ?? '');
    if (!operation) {
      operation = compileQuery(schema, document, operationName, {
        // Errors are the client's data: a stack captured for every one is wasted work.
        disablingCapturingStackErrors: true,
      });
      byName.set(operationName ?? '', operation);
    }
    return operation;
  };

  return {
    async load() {
      return {
        executor: async (request) => {
          // The name the client sent (Apollo's `operationName` is the one it resolved, null
          // when none matched): graphql-js must see it to refuse an unknown one.
          const operationName = request.request.operationName ?? undefined;
          const interpreted = () =>
            execute({
              schema,
              document: request.document,
              contextValue: request.context,
              variableValues: request.request.variables,
              operationName,
            });
          if (request.request.http?.headers.get('apollo-federation-include-trace'))
            return interpreted();
          const operation = compiledFor(request.document, operationName);
          // A request that fails before any resolver runs (no such operation, variables that do
          // not coerce) is answered by graphql-js, whose errors Apollo knows how to read (a
          // variable's is BAD_USER_INPUT): no resolver runs either way, so nothing is fetched twice.
          if (!operation || !isCompiledQuery(operation)) return interpreted();
          const result = await operation.query(
            undefined,
            request.context,
            request.request.variables ?? {},
          );
          if (!('data' in result)) return interpreted();
          return result.errors
            ? { ...result, errors: result.errors.map((error) => asGraphQLJsError(error)) }
            : result;
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async stop() {},
  };
}

/** What graphql-jit's errors carry (its type shares graphql-js's fields, not its class). */
type JitError = Pick<GraphQLError, 'message' | 'path' | 'locations'> & {
  extensions?: GraphQLError['extensions'] | undefined;
  originalError?: unknown;
};

/**
 * graphql-jit reports errors with its own error type, which is not graphql-js's GraphQLError:
 * rebuilt as the one graphql-js's executor would have made (message, path, locations, the error
 * the resolver threw, its extensions), so Apollo and our formatter see what they always saw.
 */
function asGraphQLJsError(error: JitError): GraphQLError {
  // Its errors even pass `instanceof GraphQLError`, but lack what graphql-js's always have
  // (`extensions` is undefined, which Apollo's formatting does not survive): always rebuilt.
  const original = error.originalError;
  const located = new GraphQLError(error.message, {
    path: error.path,
    originalError: original instanceof Error ? original : undefined,
    extensions: error.extensions,
  });
  // Locations come from the compiled document's nodes; graphql-js computes the same from them.
  Object.defineProperty(located, 'locations', { value: error.locations, enumerable: true });
  return located;
}
