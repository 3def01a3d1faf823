/** GraphQL errors the schema layer raises about a client's own request. */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../publicErrors.js';

/** An invalid argument: names the argument so a client can point at it. */
export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BadUserInput, ...(argument ? { argument } : {}) },
  });
}
