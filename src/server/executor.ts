/**
 * How operations execute: graphql-jit compiles a repeated operation once into plain JavaScript,
 * and every later request with the same document runs that function instead of graphql-js's
 * interpreter, which resolves every field of every record through generic code (argument
 * coercion, path and info objects, promise checks per field). On a cold dashboard answer
 * (100 red packs, ~10,000 fields) the interpreter was most of the gateway's own CPU.
 *
 * graphql-jit writes an operation's argument literals into the JavaScript it generates
 * (execution.js, `compileArguments` → `objectStringify`: JSON, in which any string starting with
 * one of its public markers, `__MAGIC_DATE__33a9e76d_…` and the like, is then replaced by
 * `new Date(…)`, `NaN`, `Infinity`), so a string such as
 * `"__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d0), id: process.env.X, b: (0"` ran as code
 * in the gateway. It writes names into its code too (`"${responseName}": …`, `parent.${name}`).
 *
 * So it compiles only documents in which no byte a client sent can become code: a canonical
 * copy of the client's operation (made below), in which
 *
 * - every argument literal (of fields and of directives, at any depth: strings, numbers, enums,
 *   booleans, lists and objects of them) is a variable typed with the exact input type of its
 *   position, named so that it cannot be one of the client's; its value reaches the compiled code
 *   as a variable value, which is data, never code;
 * - a list or object literal holding one of the client's variables keeps its shape and has its
 *   leaves hoisted, one variable each;
 * - variable definitions carry no default: the defaults are applied to the values here
 *   (`variableValues`), as graphql-js applies them, only when the client did not send the variable.
 *
 * A literal that cannot be hoisted exactly (a custom scalar's literal holding a variable; a
 * literal its scalar would read differently as a variable value) leaves the operation to
 * graphql-js. And `isCanonical` checks the result structurally before anything is compiled.
 * What cannot be made canonical runs on graphql-js; `GATEWAY_COMPILED_EXECUTION=off` runs
 * everything on graphql-js.
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
import { isDeepStrictEqual } from 'node:util';
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  BREAK,
  execute,
  GraphQLError,
  Kind,
  TypeInfo,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isNonNullType,
  isSpecifiedScalarType,
  typeFromAST,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLEnumType,
  type GraphQLInputType,
  type GraphQLScalarType,
  type GraphQLSchema,
  type ListTypeNode,
  type NamedTypeNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
  type ValueNode,
  type VariableDefinitionNode,
  type VariableNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';
import type { RequestRecord } from '../observability/requests.js';
import { withArgument } from './argumentOf.js';

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

// The canonical copy: the operation graphql-jit compiles, with no literal and no default.

/** An operation ready to compile, and the variable values it needs besides the client's. */
export interface CanonicalOperation {
  /** The operation alone with the fragments it spreads: no literal, no default. */
  readonly document: DocumentNode;
  /** Each hoisted literal's value, as a client would send it in `variables`. */
  readonly literals: ReadonlyArray<readonly [name: string, value: unknown]>;
  /** The defaults of the client's variables, as values, for those the client does not send. */
  readonly defaults: ReadonlyArray<readonly [name: string, value: unknown]>;
}

/** Something of the operation that cannot be rewritten exactly: graphql-js runs it instead. */
class NotHoistable extends Error {}

/**
 * The canonical copy of `operation` (one of `document`'s, as validated), or undefined when it
 * cannot be made exactly: the operation is then graphql-js's to run.
 */
export function canonicalOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): CanonicalOperation | undefined {
  try {
    return canonical(schema, document, operation);
  } catch (error) {
    if (error instanceof NotHoistable) return undefined;
    throw error;
  }
}

function canonical(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): CanonicalOperation {
  const fragments = spreadFragments(document, operation);
  // Hoisted variables are named `${prefix}${n}`, with a prefix none of the client's names starts with.
  const clientNames = new Set<string>();
  visit(document, {
    Variable(node) {
      clientNames.add(node.name.value);
    },
  });
  let prefix = 'literal';
  while ([...clientNames].some((name) => name.startsWith(prefix))) prefix += '_';

  const literals: [string, unknown][] = [];
  const defaults: [string, unknown][] = [];
  const hoisted: VariableDefinitionNode[] = [];

  const hoist = (node: ValueNode, type: GraphQLInputType): ValueNode => {
    // A variable is the client's value already; a null is no code either.
    if (node.kind === Kind.VARIABLE || node.kind === Kind.NULL) return node;
    if (!holdsVariable(node)) {
      const name = `${prefix}${literals.length}`;
      literals.push([name, clientValue(node, type)]);
      const variable: VariableNode = {
        kind: Kind.VARIABLE,
        name: { kind: Kind.NAME, value: name },
      };
      hoisted.push({ kind: Kind.VARIABLE_DEFINITION, variable, type: typeNode(type) });
      // Where the literal was, so that an error about it is located where graphql-js puts it.
      return { ...variable, loc: node.loc };
    }
    // A list or an object holding a variable of the client's: its leaves, one by one.
    const nullable = isNonNullType(type) ? type.ofType : type;
    if (isListType(nullable))
      return node.kind === Kind.LIST
        ? { ...node, values: node.values.map((item) => hoist(item, nullable.ofType)) }
        : hoist(node, nullable.ofType);
    if (isInputObjectType(nullable) && node.kind === Kind.OBJECT) {
      const fields = nullable.getFields();
      return {
        ...node,
        fields: node.fields.map((field) => {
          const definition = Object.hasOwn(fields, field.name.value)
            ? fields[field.name.value]
            : undefined;
          if (!definition) throw new NotHoistable(`no input field ${field.name.value}`);
          return { ...field, value: hoist(field.value, definition.type) };
        }),
      };
    }
    throw new NotHoistable('a variable inside a scalar literal');
  };

  const typeInfo = new TypeInfo(schema);
  const rewrite = <T extends DefinitionNode>(definition: T): T =>
    visit(
      definition,
      visitWithTypeInfo(typeInfo, {
        VariableDefinition(node) {
          if (!node.defaultValue) return undefined;
          const type = typeFromAST(schema, node.type);
          if (!type || !isInputType(type)) throw new NotHoistable('a variable of no input type');
          defaults.push([node.variable.name.value, clientValue(node.defaultValue, type)]);
          const { defaultValue: _applied, ...withoutDefault } = node;
          return withoutDefault;
        },
        Argument(node) {
          const argument = typeInfo.getArgument();
          if (!argument) throw new NotHoistable(`unknown argument ${node.name.value}`);
          return { ...node, value: hoist(node.value, argument.type) };
        },
      }),
    );

  const rewritten = rewrite(operation);
  const rewrittenFragments = fragments.map(rewrite);
  return {
    document: {
      kind: Kind.DOCUMENT,
      definitions: [
        {
          ...rewritten,
          variableDefinitions: [...(rewritten.variableDefinitions ?? []), ...hoisted],
        },
        ...rewrittenFragments,
      ],
    },
    literals,
    defaults,
  };
}

/** The fragments `operation` spreads, directly or through other fragments. */
function spreadFragments(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): FragmentDefinitionNode[] {
  const definitions = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      definitions.set(definition.name.value, definition);
  const found = new Map<string, FragmentDefinitionNode>();
  const pending: SelectionSetNode[] = [operation.selectionSet];
  for (let set = pending.pop(); set; set = pending.pop()) {
    visit(set, {
      FragmentSpread(node) {
        const name = node.name.value;
        if (found.has(name)) return;
        const fragment = definitions.get(name);
        if (!fragment) throw new NotHoistable(`no fragment ${name}`);
        found.set(name, fragment);
        pending.push(fragment.selectionSet);
      },
    });
  }
  return [...found.values()];
}

function holdsVariable(node: ValueNode): boolean {
  switch (node.kind) {
    case Kind.VARIABLE:
      return true;
    case Kind.LIST:
      return node.values.some(holdsVariable);
    case Kind.OBJECT:
      return node.fields.some((field) => holdsVariable(field.value));
    default:
      return false;
  }
}

/** `type` written as a variable definition's type. */
function typeNode(type: GraphQLInputType): TypeNode {
  if (isNonNullType(type))
    return {
      kind: Kind.NON_NULL_TYPE,
      type: typeNode(type.ofType) as NamedTypeNode | ListTypeNode,
    };
  if (isListType(type)) return { kind: Kind.LIST_TYPE, type: typeNode(type.ofType) };
  return { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: type.name } };
}

/**
 * The value a client would send in `variables` to mean exactly what the literal `node` means in
 * a position of type `type` (a validated literal holding no variable). Every leaf is checked: its
 * type must read the value as it reads the literal, or the operation stays with graphql-js.
 */
function clientValue(node: ValueNode, type: GraphQLInputType): unknown {
  if (isNonNullType(type)) {
    if (node.kind === Kind.NULL) throw new NotHoistable('null in a non-null position');
    return clientValue(node, type.ofType);
  }
  if (node.kind === Kind.NULL) return null;
  if (node.kind === Kind.VARIABLE) throw new NotHoistable('a variable in a literal');
  if (isListType(type))
    // A single value where a list is expected is a list of one, as a variable or as a literal.
    return node.kind === Kind.LIST
      ? node.values.map((item) => clientValue(item, type.ofType))
      : clientValue(node, type.ofType);
  if (isInputObjectType(type)) {
    if (node.kind !== Kind.OBJECT) throw new NotHoistable('not an object');
    const fields = type.getFields();
    const value: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const field of node.fields) {
      const definition = Object.hasOwn(fields, field.name.value)
        ? fields[field.name.value]
        : undefined;
      if (!definition) throw new NotHoistable(`no input field ${field.name.value}`);
      value[definition.name] = clientValue(field.value, definition.type);
    }
    return value;
  }
  return leafValue(node, type);
}

function leafValue(node: ValueNode, type: GraphQLScalarType | GraphQLEnumType): unknown {
  let value: unknown;
  if (isEnumType(type)) {
    if (node.kind !== Kind.ENUM) throw new NotHoistable('not an enum value');
    value = node.value;
  } else if (isSpecifiedScalarType(type)) {
    value = specifiedScalarValue(node, type.name);
  } else {
    // A custom scalar without a parseLiteral of its own reads a literal exactly so.
    value = valueFromASTUntyped(node);
  }
  // The type must read the value as it reads the literal (graphql-js reads the literal with
  // parseLiteral, a variable's value with parseValue), or the hoisted variable would mean
  // something else: our DateTime, Date and Decimal read a string literal as its string.
  let literal: unknown;
  let parsed: unknown;
  try {
    literal = type.parseLiteral(node, undefined);
    parsed = type.parseValue(value);
  } catch {
    throw new NotHoistable(`${type.name} does not read the literal as its value`);
  }
  if (literal === undefined || literal !== literal || !isDeepStrictEqual(literal, parsed))
    throw new NotHoistable(`${type.name} does not read the literal as its value`);
  return value;
}

/** graphql-js's own scalars: the value a literal of each stands for. */
function specifiedScalarValue(node: ValueNode, scalar: string): unknown {
  switch (scalar) {
    case 'String':
      if (node.kind === Kind.STRING) return node.value;
      break;
    case 'ID':
      // An ID written as an integer is its digits, however many (never a rounded number).
      if (node.kind === Kind.STRING || node.kind === Kind.INT) return node.value;
      break;
    case 'Boolean':
      if (node.kind === Kind.BOOLEAN) return node.value;
      break;
    case 'Int':
      if (node.kind === Kind.INT) return Number(node.value);
      break;
    case 'Float':
      if (node.kind === Kind.INT || node.kind === Kind.FLOAT) return Number(node.value);
      break;
  }
  throw new NotHoistable(`not a ${scalar} literal`);
}

/** The values a canonical operation runs with: the client's, its defaults, the literals. */
export function variableValues(
  operation: CanonicalOperation,
  given: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  // No prototype: a client's variable named `__proto__` is a key like any other.
  const values = Object.create(null) as Record<string, unknown>;
  if (given) for (const name of Object.keys(given)) values[name] = given[name];
  // graphql-js uses a default only when the variable is absent (an explicit null stays null).
  for (const [name, value] of operation.defaults)
    if (!given || !Object.hasOwn(given, name)) values[name] = copy(value);
  // Last, so that a client's stray variable of the same name changes nothing.
  for (const [name, value] of operation.literals) values[name] = copy(value);
  return values;
}

/** A fresh copy of a hoisted value, so that no request sees what another did to it. */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (typeof value !== 'object' || value === null) return value;
  const copied = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) copied[key] = copy(item);
  return copied;
}

const LITERAL_KINDS: ReadonlySet<string> = new Set([
  Kind.STRING,
  Kind.INT,
  Kind.FLOAT,
  Kind.ENUM,
  Kind.BOOLEAN,
]);
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * The invariant, checked on the document itself before graphql-jit sees it: one operation; no
 * string, number, enum or boolean literal anywhere; no variable default; every name a GraphQL
 * name (what graphql-jit writes between quotes and after dots), and none `__proto__` (as a key of
 * an object literal, `"__proto__": …` would set the answer's prototype, not a field).
 */
export function isCanonical(document: DocumentNode): boolean {
  let operations = 0;
  let canonical = true;
  visit(document, {
    enter(node: ASTNode) {
      if (node.kind === Kind.OPERATION_DEFINITION) operations++;
      if (
        LITERAL_KINDS.has(node.kind) ||
        (node.kind === Kind.VARIABLE_DEFINITION && node.defaultValue !== undefined) ||
        (node.kind === Kind.NAME && (!NAME.test(node.value) || node.value === '__proto__'))
      ) {
        canonical = false;
        return BREAK;
      }
      return undefined;
    },
  });
  return canonical && operations === 1;
}
