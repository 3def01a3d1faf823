/**
 * Cache hints for clients, routers and CDNs: the Cache-Control header of every answer.
 *
 * An answer may be reused for as long as the shortest-lived data in it: each connection
 * resolver restricts the request's policy to its Polyv page TTL; channel identities (`channel`,
 * `channels`, `_entities`) never change and allow an hour. Root fields we do not hint
 * (`_service`, introspection) make an answer uncacheable, as do errors. With API keys every
 * answer is `private`, because what a key may see differs from key to key.
 *
 * (Apollo's cache-control plugin does the same from schema directives, but by instrumenting
 * every field of every answer; for our answers of thousands of fields that cost a fifth of the
 * gateway's CPU.)
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type SelectionSetNode } from 'graphql';
import type { GatewayContext } from './context.js';

/** How long a channel's identity may be reused. */
export const CHANNEL_MAX_AGE = 3600;
const HINTED_ROOT_FIELDS = new Set([
  'channel',
  'channels',
  'incomeRecords',
  '_entities',
  '__typename',
]);

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
  privateAnswers: boolean;
}): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (
            !operation ||
            operation.operation !== 'query' ||
            !onlyHintedRootFields(operation.selectionSet)
          ) {
            contextValue.cachePolicy.uncacheable = true;
          } else {
            contextValue.cachePolicy.restrict(CHANNEL_MAX_AGE);
          }
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

function onlyHintedRootFields(selectionSet: SelectionSetNode): boolean {
  return selectionSet.selections.every((selection) =>
    selection.kind === Kind.FIELD
      ? HINTED_ROOT_FIELDS.has(selection.name.value)
      : selection.kind === Kind.INLINE_FRAGMENT && onlyHintedRootFields(selection.selectionSet),
  );
}
