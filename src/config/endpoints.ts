/**
 * The Polyv endpoints the configuration knows, each with its page cache's default TTL: the one
 * list POLYV_CACHE_TTL_S's keys are checked against, and its defaults. Declared here for now;
 * once each Polyv endpoint is declared once with its default TTL (issue 21, point 1), this list
 * is read from those declarations and nothing else in src/config changes.
 */
export const KNOWN_ENDPOINTS = [
  { id: 'redPackStatistics', defaultCacheTtlS: 30 },
  { id: 'incomeDetail', defaultCacheTtlS: 60 },
] as const satisfies readonly { id: string; defaultCacheTtlS: number }[];

export type KnownEndpointId = (typeof KNOWN_ENDPOINTS)[number]['id'];

export const KNOWN_ENDPOINT_IDS: readonly KnownEndpointId[] = KNOWN_ENDPOINTS.map(({ id }) => id);

/** Seconds a page of each endpoint is reused unless POLYV_CACHE_TTL_S says otherwise. */
export const DEFAULT_CACHE_TTL_S = Object.fromEntries(
  KNOWN_ENDPOINTS.map(({ id, defaultCacheTtlS }) => [id, defaultCacheTtlS]),
) as Record<KnownEndpointId, number>;
