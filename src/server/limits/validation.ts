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
        new GraphQLError(
          `This API has no ${node.operation} operations: it answers queries and subscriptions.`,
          {
            nodes: node,
          },
        ),
      );
    }
  },
});

/** Why a plain request cannot carry a subscription. */
export const SUBSCRIPTIONS_NEED_A_STREAM =
  'Subscriptions are streams: open a WebSocket to this path (graphql-ws protocol) or send the request with `Accept: text/event-stream` (Server-Sent Events).';

/**
 * A validation rule for plain requests: a subscription is a stream, served over WebSocket or
 * Server-Sent Events (server/subscriptions.ts), never as one answer to a POST or a GET.
 */
export const SubscriptionsNeedAStream: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (node.operation === 'subscription')
      context.reportError(new GraphQLError(SUBSCRIPTIONS_NEED_A_STREAM, { nodes: node }));
  },
});

/**
 * With introspection off (production), `__schema` and `__type` are invalid: what Apollo Server's
 * `introspection: false` adds, here for every transport. (`__typename` stays: clients and
 * routers need it.)
 */
export const NoIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type')
      context.reportError(
        new GraphQLError(
          'GraphQL introspection is not allowed here, but the query contained __schema or __type.',
          { nodes: node },
        ),
      );
  },
});
