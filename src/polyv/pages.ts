/**
 * Polyv's pages as the lists (lists/list.ts) get them: the page cache (with single flight) in front
 * of the one signed client. Every call to Polyv data passes here, so this is also where each gets
 * its span, the operation's budgets are charged, its cache hit or miss is counted, and the
 * request's own tally is kept.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { PolyvPageCache } from '../cache/pageCache.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { tracer } from '../observability/tracing.js';
import type { EndpointId } from './endpoints.js';
import { PolyvBudgetExceeded } from './errors.js';
import { wireParams, type CallOptions, type PolyvHttpClient, type PolyvRequest } from './http.js';

export interface PolyvCallOptions extends CallOptions {
  /** The client asked for fresh data (Cache-Control: no-cache): skip cache reads. */
  fresh?: boolean;
  /** A bulk read (an export): use cached pages, but keep what it fetches out of the cache. */
  noStore?: boolean;
  /** The request's tally, for its log line. */
  tally?: { upstreamCalls: number; cacheHits: number };
  /** Told when each page was fetched from Polyv: an answer is as old as its oldest page. */
  freshness?: PageFreshness;
  /** The operation's upstream-call budget: the run-time bound behind the query limits' estimate. */
  budget?: CallBudget;
  /** Records this call's page adds to what the operation holds (absent: a page not kept). */
  held?: RecordBudget;
}

/** Who keeps track of how old the pages a request read are (server/httpAnswer.ts). */
export interface PageFreshness {
  /** A page the request read, fetched from Polyv at this epoch ms. */
  pageFetchedAt(epochMs: number): void;
}

/**
 * How many calls one operation may still make. Every call counts, served from the cache or
 * not, so the bound does not depend on what happens to be cached; past it, the call (and every
 * later one) fails (QUERY_LIMIT_EXCEEDED for the client), whatever the estimate before execution said.
 */
export class CallBudget {
  private used = 0;

  constructor(readonly max: number) {}

  spend(endpoint: string): void {
    this.used++;
    if (this.used <= this.max) return;
    throw new PolyvBudgetExceeded(
      'calls',
      this.max,
      endpoint,
      `This operation has made the ${this.max} upstream calls it may make; the rest of its fields fail. Ask for less in one request.`,
    );
  }
}

/**
 * How many records one operation may still fetch and hold: the run-time bound behind the
 * estimate's `upstreamRecords`, and with it the operation's share of the heap. A page counts
 * its page size before it is asked for (what it may hold, whatever Polyv returns), cached or
 * not; past the budget the page is not fetched and its field fails, as does every later one.
 */
export class RecordBudget {
  private used = 0;

  constructor(readonly max: number) {}

  hold(records: number, endpoint: string): void {
    this.used += records;
    if (this.used <= this.max) return;
    throw new PolyvBudgetExceeded(
      'records',
      this.max,
      endpoint,
      `This operation has fetched the ${this.max} upstream records it may hold; the rest of its fields fail. Ask for smaller pages or fewer lists in one request.`,
    );
  }
}

/**
 * A key for a set of parameters that does not depend on the order they were written in: the page
 * cache's (with the endpoint), and a list's for its DataLoader and its cursors' binding.
 */
export function stableKey(params: object): string {
  return JSON.stringify(
    Object.entries(params)
      .filter(([, value]) => value !== undefined && value !== null && value !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** The page cache and how long each endpoint's pages stay in it (0: not cached). */
export interface PagesCaching {
  cache: PolyvPageCache;
  ttlMs: Readonly<Record<EndpointId, number>>;
}

export class PolyvPages {
  /** Without `caching`, every call asks Polyv. */
  constructor(
    private readonly client: PolyvHttpClient,
    private readonly caching?: PagesCaching,
    private readonly metrics?: GatewayMetrics,
  ) {}

  /**
   * Seconds an answer built on this endpoint's pages may be reused: as long as the pages stay
   * cached (0 when they are not).
   */
  maxAgeSeconds(endpoint: EndpointId): number {
    return this.caching ? this.caching.ttlMs[endpoint] / 1000 : 0;
  }

  /** Polyv's `data` for the request, and when Polyv produced it (epoch ms; older when cached). */
  async call<T>(
    request: PolyvRequest<T>,
    options: PolyvCallOptions = {},
  ): Promise<{ data: T; fetchedAt: number }> {
    options.budget?.spend(request.endpoint);
    options.held?.hold(request.page?.size ?? 0, request.endpoint);
    const span = tracer().startSpan(`polyv ${request.endpoint}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'polyv.endpoint': request.endpoint,
        'polyv.page': request.page?.number ?? 1,
        'polyv.page_size': request.page?.size ?? 0,
      },
    });
    let fetched = false;
    const fetch = async () => {
      fetched = true;
      if (options.tally) options.tally.upstreamCalls++;
      const { data, requestId } = await this.client.call(request, options);
      if (requestId) span.setAttribute('polyv.request_id', requestId);
      return data;
    };
    try {
      const { value: data, fetchedAt } = this.caching
        ? await this.caching.cache.get({
            endpoint: request.endpoint,
            params: stableKey(wireParams(request)),
            ttlMs: this.caching.ttlMs[request.endpoint],
            fresh: options.fresh ?? false,
            noStore: options.noStore ?? false,
            schema: request.data,
            fetch,
          })
        : { value: await fetch(), fetchedAt: Date.now() };
      // Served without this request fetching: from the cache, or a fetch another request made.
      const hit = !fetched;
      span.setAttribute('gateway.cache_hit', hit);
      if (hit && options.tally) options.tally.cacheHits++;
      if (this.caching)
        (hit ? this.metrics?.cacheHits : this.metrics?.cacheMisses)?.inc({
          endpoint: request.endpoint,
        });
      options.freshness?.pageFetchedAt(fetchedAt);
      return { data, fetchedAt };
    } catch (error) {
      if (this.caching && fetched) this.metrics?.cacheMisses.inc({ endpoint: request.endpoint });
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : 'failed',
      });
      throw error;
    } finally {
      span.end();
    }
  }
}
