/**
 * Cache hints for clients, routers and CDNs: the Cache-Control header of every answer.
 *
 * An answer may be reused for as long as the shortest-lived data in it. Which root fields may be
 * cached at all, and for how long at most, is declared in the schema with `@cacheControl`
 * (read once by schema/policy.ts): channel identities allow an hour; lists and summaries
 * inherit the age of the Polyv pages they read, which their resolvers restrict the request's
 * policy to. A root field without a hint (`_service`, introspection) makes an answer
 * uncacheable, as do errors. With API keys every answer is `private`, because what a key may
 * see differs from key to key.
 *
 * (Apollo's cache-control plugin reads the same directives, but by instrumenting every field
 * of every answer; for our answers of thousands of fields that cost a fifth of the gateway's
 * CPU. Here the resolvers that read Polyv restrict the policy, once per list.)
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { readCachePolicy, type CachePolicyMap } from '../schema/policy.js';

/** The request's cache policy: the smallest max-age seen, or uncacheable. */
export class CachePolicy {
  maxAge: number | undefined;
  uncacheable = false;

  restrict(seconds: number): void {
    if (this.maxAge === undefined || seconds < this.maxAge) this.maxAge = seconds;
  }

  header(scope: 'public' | 'private'): string {
    return this.uncacheable || !this.maxAge ? 'no-store' : `max-age=${this.maxAge}, ${scope}`;
  }
}

export function cachePolicyPlugin(options: {
  schema: GraphQLSchema;
  privateAnswers: boolean;
}): ApolloServerPlugin<{ cachePolicy: CachePolicy }> {
  const policy = readCachePolicy(options.schema);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          const hints =
            operation?.operation === 'query'
              ? rootHints(policy, operation.selectionSet)
              : undefined;
          if (!hints) contextValue.cachePolicy.uncacheable = true;
          else
            for (const hint of hints)
              if (hint.maxAge !== undefined) contextValue.cachePolicy.restrict(hint.maxAge);
        },
        async willSendResponse({ response, contextValue }) {
          const failed =
            response.body.kind !== 'single' || (response.body.singleResult.errors?.length ?? 0) > 0;
          if (failed) contextValue.cachePolicy.uncacheable = true;
          response.http.headers.set(
            'cache-control',
            contextValue.cachePolicy.header(options.privateAnswers ? 'private' : 'public'),
          );
        },
      };
    },
  };
}

/** Each root field's hint, or undefined as soon as one has none (or a fragment hides it). */
function rootHints(
  policy: CachePolicyMap,
  selectionSet: SelectionSetNode,
): { maxAge?: number }[] | undefined {
  const hints: { maxAge?: number }[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const hint = policy.hintOf('Query', selection.name.value);
      if (!hint) return undefined;
      hints.push(hint);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const inner = rootHints(policy, selection.selectionSet);
      if (!inner) return undefined;
      hints.push(...inner);
    } else return undefined;
  }
  return hints;
}
/** `Cache-Control: no-cache` (or `no-store`, `max-age=0`, or `Pragma: no-cache`) asks for fresh data. */
export function wantsFreshData(
  cacheControl: string | undefined,
  pragma: string | undefined,
): boolean {
  return (
    /\b(no-cache|no-store|max-age=0)\b/i.test(cacheControl ?? '') ||
    /\bno-cache\b/i.test(pragma ?? '')
  );
}
