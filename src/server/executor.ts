/**
 * How operations execute: graphql-jit compiles a repeated operation once into plain JavaScript,
 * and every later request with the same document runs that function instead of graphql-js's
 * interpreter, which resolves every field of every record through generic code (argument
 * coercion, path and info objects, promise checks per field). On a cold dashboard answer
 * (100 red packs, ~10,000 fields) the interpreter was most of the gateway's own CPU.
 *
 * graphql-jit writes what it compiles into code, so it compiles only the canonical copy of an
 * operation (canonical.ts): every literal a variable, no variable default, checked by
 * `isCanonical` first; no byte a client sent becomes code. What cannot be made canonical runs on
 * graphql-js. `GATEWAY_COMPILED_EXECUTION=off` runs everything on graphql-js.
 *
 * Apollo Server 5 has one hook for an executor, its gateway interface: this "gateway" serves our
 * one schema and runs the compiled operation. Everything before execution (parsing, validation,
 * our limits, plugins) and after it (error formatting, cache hints) is Apollo's as before.
 *
 * Requests for a federated trace (`apollo-federation-include-trace`) run on graphql-js: the
 * trace is built from per-field hooks, which compiled code does not call. So do requests for
 * which Apollo resolved no operation (an unknown or empty `operationName`): graphql-js refuses
 * them in its own words.
 */
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  execute,
  GraphQLError,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import type { RequestRecord } from '../observability/requests.js';
import { withArgument } from './argumentOf.js';
import {
  canonicalOperation,
  isCanonical,
  variableValues,
  type CanonicalOperation,
} from './canonical.js';

type Gateway = ApolloServerOptionsWithGateway<never>['gateway'];

/**
 * Documents whose compiled code is kept. A compiled operation costs a few milliseconds to build
 * and tens of kilobytes to keep, so only documents seen again are compiled: a dashboard's
 * query from its second request on, never a one-off (ad hoc queries, an attacker's endless
 * fresh documents), which graphql-js runs as it always did.
 */
const COMPILED_DOCUMENTS = 100;

/** An operation's compiled code with the canonical operation it was compiled from. */
interface Compiled {
  canonical: CanonicalOperation;
  query: CompiledQuery['query'];
}
/** An operation graphql-js runs every time (it could not be made canonical, or compiled). */
const INTERPRETED = 'interpreted';
type Plan = Compiled | typeof INTERPRETED;

export interface ExecutorOptions {
  /** Compile repeated operations (GATEWAY_COMPILED_EXECUTION); false: graphql-js runs all. */
  compiled: boolean;
}

export function compiledExecutor(
  schema: GraphQLSchema,
  options: ExecutorOptions = { compiled: true },
): Gateway {
  // Apollo keeps one parsed document per query text (its document store), so the same text
  // comes back as the same object: plans are found by reference. One document, one plan for
  // each of its operations: graphql-jit writes the fields' locations into the code, so a plan
  // is never shared by documents of different text.
  const plans = new LRUCache<DocumentNode, Map<OperationDefinitionNode, Plan>>({
    max: COMPILED_DOCUMENTS,
  });
  // Held weakly: a document seen once lives only as long as the prepare step keeps it (a byte
  // budget), never because it was seen here.
  const seenOnce = new WeakSet<DocumentNode>();
  /** The operation's plan, or undefined while its document has been seen only once. */
  const planFor = (document: DocumentNode, operation: OperationDefinitionNode) => {
    let byOperation = plans.get(document);
    if (!byOperation) {
      if (!seenOnce.has(document)) {
        seenOnce.add(document);
        return undefined;
      }
      seenOnce.delete(document);
      plans.set(document, (byOperation = new Map()));
    }
    let plan = byOperation.get(operation);
    if (!plan) byOperation.set(operation, (plan = compile(schema, document, operation)));
    return plan;
  };

  return {
    async load() {
      return {
        executor: async (request) => {
          // The name the client sent (Apollo's `operationName` is the one it resolved, null
          // when none matched): graphql-js must see it to refuse an unknown one.
          const operationName = request.request.operationName ?? undefined;
          // The request's log line says which ran it.
          const record = (request.context as { record?: RequestRecord | undefined }).record;
          const ran = (execution: RequestRecord['execution']) => {
            if (record) record.execution = execution;
          };
          const interpreted = async () => {
            ran('graphql-js');
            const result = await execute({
              schema,
              document: request.document,
              contextValue: request.context,
              variableValues: request.request.variables,
              operationName,
            });
            // Nothing ran (variables that do not coerce): each error names the argument its
            // variable feeds.
            return 'data' in result || !result.errors
              ? result
              : {
                  ...result,
                  errors: result.errors.map((error) => withArgument(request.document, error)),
                };
          };
          // Typed as always there, but absent when Apollo resolved no operation (an unknown or
          // empty operationName): graphql-js says why, as it did on the first request.
          const operation = request.operation as OperationDefinitionNode | undefined;
          if (
            !options.compiled ||
            !operation ||
            request.request.http?.headers.get('apollo-federation-include-trace')
          )
            return interpreted();
          const plan = planFor(request.document, operation);
          if (!plan || plan === INTERPRETED) return interpreted();
          ran('compiled');
          const result = await plan.query(
            undefined,
            request.context,
            variableValues(plan.canonical, request.request.variables),
          );
          // A request that fails before any resolver runs (variables that do not coerce) is
          // answered by graphql-js, whose errors Apollo knows how to read (a variable's is
          // BAD_USER_INPUT): no resolver runs either way, so nothing is fetched twice.
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

/**
 * The plan of an operation seen again: its canonical copy compiled, or graphql-js whenever the
 * copy cannot be made, fails the invariant, or does not compile.
 */
function compile(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Plan {
  const canonical = canonicalOperation(schema, document, operation);
  // The last word before anything becomes code, whatever the rewriting did: a document holding
  // a literal, a default or a name graphql-jit must not write is not compiled.
  if (!canonical || !isCanonical(canonical.document)) return INTERPRETED;
  const compiled = compileQuery(schema, canonical.document, undefined, {
    // Errors are the client's data: a stack captured for every one is wasted work.
    disablingCapturingStackErrors: true,
  });
  return isCompiledQuery(compiled) ? { canonical, query: compiled.query } : INTERPRETED;
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
