/**
 * A Polyv list: the one mechanism behind every list module (redPacks.ts, income.ts). A module
 * declares how to ask Polyv for one page of its list and how to read a record; from that come
 * the page fetch (through the page cache and the signed client), the request's DataLoader and
 * the PagedList that pagination reads. Adding a list is adding a module; nothing else lists them.
 */
import DataLoader from 'dataloader';
import { stableKey } from '../cache/keys.js';
import type { PagedList } from '../pagination/connection.js';
import type { PolyvPageRequest, PolyvRequest } from '../polyv/http.js';
import type { PolyvPage } from '../polyv/page.js';
import type { PolyvCallOptions, PolyvPages, RecordBudget } from '../polyv/pages.js';

/** What a page of any Polyv list holds, once its run-time schema has read it. */
export interface PolyvListData<Raw> {
  totalItems: number;
  contents: Raw[];
}

export interface PolyvListSpec<Filter, Raw, Model> {
  /** Names the list in cursors (changing it invalidates every cursor given out). */
  name: string;
  /** Polyv's endpoint: names it in errors, metrics and logs, and picks its cache TTL. */
  endpoint: string;
  /** What the endpoint calls its page-number parameter. */
  pageNumberParam: PolyvPageRequest['numberParam'];
  /** Everything about the call but the page: one page of the list with these filters. */
  request(filter: Filter): Omit<PolyvRequest<PolyvListData<Raw>>, 'endpoint' | 'page'>;
  /** One of Polyv's records as our model. */
  toModel(raw: Raw): Model;
  /** A stable id and the time that orders the list (Polyv lists newest first). */
  keyOf(model: Model): { id: string; time: number };
}

/**
 * One request's way to Polyv, built per request (server/context.ts): the pages, the request's
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
  /** One page, through the page cache and the signed client; not memoised. */
  fetchPage(
    pages: PolyvPages,
    query: Filter & PageQuery,
    options?: PolyvCallOptions,
  ): Promise<PolyvPage<Model>>;
  /** The list with these filters, as one request reads it (its pages memoised per request). */
  read(session: PolyvSession, filter: Filter): ReadableList<Model>;
}

export function polyvList<Filter extends object, Raw, Model>(
  spec: PolyvListSpec<Filter, Raw, Model>,
): PolyvList<Filter, Model> {
  const fetchPage = async (
    pages: PolyvPages,
    query: Filter & PageQuery,
    options: PolyvCallOptions = {},
  ): Promise<PolyvPage<Model>> => {
    const { pageNumber, pageSize } = query;
    const { data, fetchedAt } = await pages.call(
      {
        endpoint: spec.endpoint,
        ...spec.request(query),
        page: { number: pageNumber, size: pageSize, numberParam: spec.pageNumberParam },
      },
      { ...options, fresh: options.fresh || query.fresh },
    );
    return {
      items: data.contents.map(spec.toModel),
      totalItems: data.totalItems,
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
    fetchPage,
    read: (session, filter) => ({
      identity: `${spec.name}:${stableKey(filter)}`,
      fetchPage: (pageNumber, pageSize) => loaderOf(session)({ ...filter, pageNumber, pageSize }),
      // A walk's pages are added up and let go: not kept for the request, nor counted as held.
      fetchWholePage: (pageNumber, pageSize, fresh) =>
        fetchPage(session.pages, { ...filter, pageNumber, pageSize, fresh }, session.options),
      keyOf: spec.keyOf,
      maxAgeSeconds: session.pages.maxAgeSeconds(spec.endpoint),
    }),
  };
}

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
