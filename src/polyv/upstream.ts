/**
 * What the endpoint modules call: the page cache (with single flight) in front of the one
 * signed client. Without a cache it is the client itself.
 */
import { stableKey } from '../cache/keys.js';
import type { UpstreamCache } from '../cache/upstreamCache.js';
import type { CallOptions, PolyvHttpClient, PolyvRequest } from './http.js';

export interface UpstreamCallOptions extends CallOptions {
  /** The client asked for fresh data (Cache-Control: no-cache): skip cache reads. */
  fresh?: boolean;
}

export class PolyvUpstream {
  constructor(
    private readonly client: PolyvHttpClient,
    private readonly cache: UpstreamCache | undefined,
    /** Cache TTL by endpoint name; absent or 0: not cached. */
    private readonly ttlMs: Readonly<Record<string, number>>,
  ) {}

  async call<T>(request: PolyvRequest<T>, options: UpstreamCallOptions = {}): Promise<T> {
    const fetch = async () => (await this.client.call(request, options)).data;
    if (!this.cache) return fetch();
    return this.cache.get({
      endpoint: request.endpoint,
      params: stableKey(request.params),
      ttlMs: this.ttlMs[request.endpoint] ?? 0,
      fresh: options.fresh ?? false,
      schema: request.data,
      fetch,
    });
  }
}
