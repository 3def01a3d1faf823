/** The per-request GraphQL context: everything a resolver may use, built fresh per request. */
import type { Principal } from '../auth/apiKeys.js';
import type { PolyvHttpClient } from '../polyv/http.js';
import { createPageLoaders, type PageLoaders } from './loaders.js';

export interface GatewayContext {
  /** Upstream pages, de-duplicated within this request. */
  pages: PageLoaders;
  /** The Polyv account whose income is reported. */
  accountId: string;
  /** Who is asking (decides which channels they may read). */
  principal: Principal;
  /** Epoch ms by which the request must be answered. */
  deadline: number;
}

export interface ContextDependencies {
  client: PolyvHttpClient;
  accountId: string;
  principal: Principal;
  deadline: number;
}

export function createContext({
  client,
  accountId,
  principal,
  deadline,
}: ContextDependencies): GatewayContext {
  return { pages: createPageLoaders(client, { deadline }), accountId, principal, deadline };
}
