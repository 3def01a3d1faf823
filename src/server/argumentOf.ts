/**
 * Which argument a refused value was given to: what `extensions.argument` names. graphql-js
 * reports a literal that a scalar refuses at the value (`startDate: "2026-02-30"`) and a variable
 * that does not coerce at its definition (`$from: Date!`); neither names the argument, which is
 * what a client, or a form, points at.
 */
import { BREAK, GraphQLError, Kind, visit, type DocumentNode, type ValueNode } from 'graphql';

/** The argument the error's value was given to (a variable's first use), if the document says. */
export function argumentOf(document: DocumentNode, error: GraphQLError): string | undefined {
  const node = error.nodes?.[0];
  if (!node) return undefined;
  const definition = node.kind === Kind.VARIABLE_DEFINITION ? node : undefined;
  const holds = (value: ValueNode): boolean => {
    if (value === node) return true;
    switch (value.kind) {
      case Kind.VARIABLE:
        return value.name.value === definition?.variable.name.value;
      case Kind.LIST:
        return value.values.some(holds);
      case Kind.OBJECT:
        return value.fields.some((field) => holds(field.value));
      default:
        return false;
    }
  };
  let name: string | undefined;
  visit(document, {
    // A variable is its own operation's (fragments may use it too).
    OperationDefinition: (operation) =>
      definition && !operation.variableDefinitions?.includes(definition) ? false : undefined,
    Argument(argument) {
      if (!holds(argument.value)) return false;
      name = argument.name.value;
      return BREAK;
    },
  });
  return name;
}

/** The error, naming the argument its value was given to when the document says which. */
export function withArgument(document: DocumentNode, error: GraphQLError): GraphQLError {
  const argument = argumentOf(document, error);
  if (argument === undefined) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, argument },
  });
}
