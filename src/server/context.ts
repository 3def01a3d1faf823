/** The per-request GraphQL context: everything a resolver may use, built fresh per request. */
import type { PolyvHttpClient } from '../polyv/http.js';
import { createPageLoaders, type PageLoaders } from './loaders.js';

export interface GatewayContext {
  /** Upstream pages, de-duplicated within this request. */
  pages: PageLoaders;
  /** The Polyv account whose income is reported. */
  accountId: string;
}

export interface ContextDependencies {
  client: PolyvHttpClient;
  accountId: string;
}

export function createContext({ client, accountId }: ContextDependencies): GatewayContext {
  return { pages: createPageLoaders(client), accountId };
}
