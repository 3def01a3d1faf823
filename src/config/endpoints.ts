/**
 * The Polyv endpoints the configuration knows, read from their declarations
 * (polyv/endpoints.ts): the keys POLYV_CACHE_TTL_S is checked against, their defaults, and the
 * words its description names them with. A new endpoint is known here without an edit.
 */
import { ENDPOINT_IDS, POLYV_ENDPOINTS, type EndpointId } from '../polyv/endpoints.js';

export type KnownEndpointId = EndpointId;

export const KNOWN_ENDPOINT_IDS: readonly KnownEndpointId[] = ENDPOINT_IDS;

/** Seconds a page of each endpoint is reused unless POLYV_CACHE_TTL_S says otherwise. */
export const DEFAULT_CACHE_TTL_S = Object.fromEntries(
  ENDPOINT_IDS.map((id) => [id, POLYV_ENDPOINTS[id].defaultCacheTtlS]),
) as Record<KnownEndpointId, number>;

/** Each endpoint and what it holds, for the setting's description: "`id` (what it holds)". */
export const ENDPOINTS_IN_WORDS = ENDPOINT_IDS.map(
  (id) => `\`${id}\` (${POLYV_ENDPOINTS[id].holds})`,
).join(', ');
