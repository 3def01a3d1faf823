/**
 * The documents graphql-jit may compile: ones in which no byte a client sent can become code.
 *
 * graphql-jit writes an operation's argument literals into the JavaScript it generates
 * (execution.js, `compileArguments` → `objectStringify`: JSON, in which any string starting with
 * one of its public markers, `__MAGIC_DATE__33a9e76d_…` and the like, is then replaced by
 * `new Date(…)`, `NaN`, `Infinity`), so a string such as
 * `"__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d0), id: process.env.X, b: (0"` ran as code
 * in the gateway. It writes names into its code too (`"${responseName}": …`, `parent.${name}`).
 *
 * So what it compiles is a canonical copy of the client's operation:
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
 */
import { isDeepStrictEqual } from 'node:util';
import {
  BREAK,
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
