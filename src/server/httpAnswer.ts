/**
 * What an answer Apollo produced says in HTTP besides its body: its status and its cache
 * headers, both set by one plugin (`httpAnswerPlugin`) as the answer is sent.
 *
 * The status follows GraphQL over HTTP: a well-formed request that fails at the GraphQL level
 * (parse, validation, variable coercion, a query limit) answers 200 when the answer is
 * `application/json`, as the spec recommends, and keeps Apollo's 4xx for
 * `application/graphql-response+json`. Without this, @apollo/gateway reads our 400
 * QUERY_LIMIT_EXCEEDED as a failed fetch and tells its client INTERNAL_SERVER_ERROR. Only
 * requests that reached Apollo pass here: bodies it cannot use at all (no query, variables that
 * are not an object) are refused before it (requestShape.ts) and keep their 400.
 *
 * The cache headers, Cache-Control and Age, are hints for clients, routers and CDNs.
 *
 * An answer may be reused for as long as the shortest-lived data in it. Which root fields may be
 * cached at all, and for how long at most, is declared in the schema with `@cacheControl`
 * (read once by schema/policy.ts): channel identities allow an hour; lists and summaries
 * inherit the age of the Polyv pages they read, which their resolvers restrict the request's
 * policy to. A root field without a hint (`_service`, introspection) makes an answer
 * uncacheable, as do errors. With API keys every answer is `private`, because what a key may
 * see differs from key to key.
 *
 * An answer is as old as the oldest Polyv page it read: a page 20 s in the page cache makes a
 * 20 s old answer. That is said as HTTP says it (RFC 9111): `max-age` stays the data's
 * lifetime and `Age` is how much of it is gone, so every cache downstream (a router, a CDN, the
 * dashboard, our own response cache) counts the same remaining freshness, max-age − Age, and
 * replays add their own time to `Age`. (Lowering max-age instead would say the same once, but a
 * cache that then adds its own `Age` would count the time twice.) An answer already past its
 * max-age when sent is not to be reused at all (`no-store`).
 *
 * (Apollo's cache-control plugin reads the same directives, but by instrumenting every field
 * of every answer; for our answers of thousands of fields that cost a fifth of the gateway's
 * CPU. Here the resolvers that read Polyv restrict the policy, once per list.)
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import type { PageFreshness } from '../polyv/pages.js';
import { readCachePolicy, type CachePolicyMap } from '../schema/policy.js';
import { graphqlLevelStatus } from './httpErrors.js';

/** An answer's cache headers: Cache-Control, and Age (seconds) when it may be reused. */
export interface CacheHeaders {
  cacheControl: string;
  age?: number;
}

/**
 * The request's cache policy: the smallest max-age seen, or uncacheable, and when the oldest
 * Polyv page it read was fetched.
 */
export class CachePolicy implements PageFreshness {
  maxAge: number | undefined;
  uncacheable = false;
  /** When the oldest page the answer read was fetched from Polyv (epoch ms); none: undefined. */
  dataAt: number | undefined;

  restrict(seconds: number): void {
    if (this.maxAge === undefined || seconds < this.maxAge) this.maxAge = seconds;
  }

  pageFetchedAt(epochMs: number): void {
    if (this.dataAt === undefined || epochMs < this.dataAt) this.dataAt = epochMs;
  }

  /** The headers as of `now` (epoch ms). */
  headers(scope: 'public' | 'private', now = Date.now()): CacheHeaders {
    const ageMs = this.dataAt === undefined ? 0 : Math.max(0, now - this.dataAt);
    if (this.uncacheable || !this.maxAge || ageMs >= this.maxAge * 1000)
      return { cacheControl: 'no-store' };
    return { cacheControl: `max-age=${this.maxAge}, ${scope}`, age: Math.floor(ageMs / 1000) };
  }
}

/** Sets every answer's cache headers and its status, as the answer is sent. */
export function httpAnswerPlugin(options: {
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
        async willSendResponse({ request, response, contextValue }) {
          const failed =
            response.body.kind !== 'single' || (response.body.singleResult.errors?.length ?? 0) > 0;
          if (failed) contextValue.cachePolicy.uncacheable = true;
          const { cacheControl, age } = contextValue.cachePolicy.headers(
            options.privateAnswers ? 'private' : 'public',
          );
          response.http.headers.set('cache-control', cacheControl);
          if (age !== undefined) response.http.headers.set('age', String(age));

          const status = response.http.status;
          // 5xx stays: it is our failure, not the request's.
          if (status !== undefined && status >= 400 && status < 500)
            response.http.status = graphqlLevelStatus(request.http?.headers.get('accept'), status);
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
