/** Validation rules of our own, run with graphql-js's. */
import { GraphQLError, type ValidationRule } from 'graphql';

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
