/**
 * A Polyv list: the one mechanism behind every list. Everything about a list is declared with its
 * endpoint (polyv/endpoints.ts): the call, the page, the record's schema, the cache TTL, and what
 * the list is to us (its filters, the record as our model, its key). From that come the page fetch
 * (through the page cache and the signed client), the request's DataLoader and the PagedList that
 * pagination reads. `listOf(endpoint)` is the list of any declared endpoint; nothing lists them.
 */
import DataLoader from 'dataloader';
import type { PagedList } from '../pagination/connection.js';
import { MAX_PAGE_SIZE } from '../pagination/page.js';
import {
  ENDPOINT_IDS,
  POLYV_ENDPOINTS,
  pageRequest,
  type EndpointId,
  type FilterOf,
  type FilterSource,
  type ListDeclaration,
  type ModelOf,
} from '../polyv/endpoints.js';
import type { PolyvPage } from '../polyv/page.js';
import {
  stableKey,
  type PolyvCallOptions,
  type PolyvPages,
  type RecordBudget,
} from '../polyv/pages.js';
import type { ParamValue } from '../polyv/sign.js';

/**
 * One request's way to Polyv, built per request (server/graphqlHandler.ts createContext): the pages, the request's
 * call options (client, deadline, freshness, budget), and the records its kept pages may hold.
 */
export interface PolyvSession {
  pages: PolyvPages;
  options: PolyvCallOptions;
  held: RecordBudget;
}

export interface PageQuery {
  pageNumber: number;
  pageSize: number;
  /** Fetch anew, past every cache. */
  fresh?: boolean;
}

/** A list as a resolver reads it: paged, and how long an answer built on it may be reused. */
export interface ReadableList<Model> extends PagedList<Model> {
  maxAgeSeconds: number;
}

export interface PolyvList<Filter, Model> {
  /** The Polyv endpoint behind it. */
  endpoint: EndpointId;
  /** The channel a filter reads (absent: the whole account): what the key must be allowed. */
  channelOf(filter: Filter): string | undefined;
  /** One page, through the page cache and the signed client; not memoised. */
  fetchPage(
    pages: PolyvPages,
    query: Filter & PageQuery,
    options?: PolyvCallOptions,
  ): Promise<PolyvPage<Model>>;
  /** The list with these filters, as one request reads it (its pages memoised per request). */
  read(session: PolyvSession, filter: Filter): ReadableList<Model>;
}

/** The list of a declared endpoint, built once. */
export function listOf<E extends EndpointId>(endpoint: E): PolyvList<FilterOf<E>, ModelOf<E>> {
  return LISTS[endpoint] as PolyvList<FilterOf<E>, ModelOf<E>>;
}

function polyvList<Filter extends object, Model>(
  endpoint: EndpointId,
  list: ListDeclaration<unknown, Model, Readonly<Record<string, FilterSource>>>,
): PolyvList<Filter, Model> {
  const { maxPageSize } = POLYV_ENDPOINTS[endpoint];
  // Pagination reads pages of up to MAX_PAGE_SIZE records, from any list.
  if (maxPageSize < MAX_PAGE_SIZE)
    throw new RangeError(
      `${endpoint} serves pages of at most ${maxPageSize} records; pagination asks for up to ${MAX_PAGE_SIZE}`,
    );
  const filterNames = Object.keys(list.filters);
  const channelParam = filterNames.find((name) => list.filters[name] === 'channel');
  /** The endpoint's parameters for a filter: its declared filter parameters, nothing else. */
  const paramsOf = (filter: Filter): Record<string, ParamValue> =>
    Object.fromEntries(
      filterNames.map((name) => [name, (filter as Record<string, ParamValue>)[name]]),
    );

  const fetchPage = async (
    pages: PolyvPages,
    query: Filter & PageQuery,
    options: PolyvCallOptions = {},
  ): Promise<PolyvPage<Model>> => {
    const { pageNumber, pageSize } = query;
    const { data: page, fetchedAt } = await pages.call(
      pageRequest(endpoint, paramsOf(query), { number: pageNumber, size: pageSize }),
      { ...options, fresh: options.fresh || query.fresh },
    );
    return {
      items: page.contents.map(list.toModel),
      totalItems: page.totalItems,
      pageNumber,
      pageSize,
      fetchedAt,
    };
  };

  // One DataLoader per request (session): the same page is fetched once within a request,
  // whichever fields, aliases or entity representations ask for it, and never across requests.
  const loaders = new WeakMap<
    PolyvSession,
    (query: Filter & PageQuery) => Promise<PolyvPage<Model>>
  >();
  const loaderOf = (session: PolyvSession) => {
    let load = loaders.get(session);
    if (!load) {
      const kept = { ...session.options, held: session.held };
      load = pageLoader((query: Filter & PageQuery) => fetchPage(session.pages, query, kept));
      loaders.set(session, load);
    }
    return load;
  };

  return {
    endpoint,
    channelOf: (filter) =>
      channelParam === undefined
        ? undefined
        : ((filter as Record<string, string | undefined>)[channelParam] ?? undefined),
    fetchPage,
    read: (session, filter) => ({
      identity: `${list.name}:${stableKey(filter)}`,
      fetchPage: (pageNumber, pageSize) => loaderOf(session)({ ...filter, pageNumber, pageSize }),
      // A walk's pages are added up and let go: not kept for the request, nor counted as held.
      fetchWholePage: (pageNumber, pageSize, fresh) =>
        fetchPage(session.pages, { ...filter, pageNumber, pageSize, fresh }, session.options),
      keyOf: list.keyOf,
      maxAgeSeconds: session.pages.maxAgeSeconds(endpoint),
    }),
  };
}

/** Every declared endpoint's list. */
const LISTS = Object.fromEntries(
  ENDPOINT_IDS.map((endpoint) => [
    endpoint,
    polyvList(
      endpoint,
      POLYV_ENDPOINTS[endpoint].list as ListDeclaration<
        unknown,
        unknown,
        Readonly<Record<string, FilterSource>>
      >,
    ),
  ]),
) as { [E in EndpointId]: PolyvList<FilterOf<E>, ModelOf<E>> };

function pageLoader<Q extends object, T>(fetch: (query: Q) => Promise<PolyvPage<T>>) {
  // Polyv has no batch endpoint: a "batch" is a set of independent calls started together.
  // Failures are returned as values so one failed page does not fail its neighbours.
  const loader = new DataLoader<Q, PolyvPage<T>, string>(
    (queries) =>
      Promise.all(queries.map((query) => fetch(query).catch((error: unknown) => toError(error)))),
    { cacheKeyFn: stableKey },
  );
  return (query: Q) =>
    loader.load(query).catch((error: unknown) => {
      // A failed page is not remembered: a later read in the same request may try again.
      loader.clear(query);
      throw error;
    });
}

const toError = (error: unknown): Error =>
  error instanceof Error ? error : new Error(String(error));
