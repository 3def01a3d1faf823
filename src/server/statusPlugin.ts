/**
 * GraphQL-over-HTTP status codes for answers Apollo Server produces: a well-formed request that
 * fails at the GraphQL level (parse, validation, variable coercion, a query limit) answers 200
 * when the answer is `application/json`, as the spec recommends, and keeps Apollo's 4xx for
 * `application/graphql-response+json`. Without this, @apollo/gateway reads our 400
 * QUERY_LIMIT_EXCEEDED as a failed fetch and tells its client INTERNAL_SERVER_ERROR.
 *
 * Only requests that reached the pipeline pass here: bodies Apollo cannot use at all (no query,
 * variables that are not an object) are refused before it and keep their 400.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { graphqlLevelStatus } from './httpErrors.js';

export function graphqlOverHttpStatusPlugin<Context extends object>(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response }) {
          const status = response.http.status;
          // 5xx stays: it is our failure, not the request's.
          if (status === undefined || status < 400 || status >= 500) return;
          response.http.status = graphqlLevelStatus(request.http?.headers.get('accept'), status);
        },
      };
    },
  };
}
