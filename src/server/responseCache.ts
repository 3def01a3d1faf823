/**
 * The whole-response cache: answers stored as the exact bytes sent, and replayed as bytes.
 * (Apollo's response-cache plugin re-parses and re-serialises every hit, which costs more than
 * everything else a hit does.) It behaves like a shared HTTP cache would:
 *
 * - only complete 200 answers without errors whose Cache-Control allows reuse are stored, for
 *   what is left of their freshness: max-age (the cache hints of what the answer holds) from
 *   when its oldest Polyv page was fetched, not from when it was stored (httpAnswer.ts);
 * - PUBLIC answers are shared; PRIVATE answers (every answer when API keys are on) are stored
 *   per grant (what the key may read, see grantKey), so no key ever gets an answer computed
 *   for a wider grant, whatever its name;
 * - a hit is sent with the same max-age and an Age header counting from that page's fetch, so
 *   a replay says how old its data is, and none is served past max-age;
 * - Cache-Control: no-cache from the client skips the lookup (the fresh answer is stored).
 */
import { createHash } from 'node:crypto';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../auth/apiKeys.js';

export interface CachedAnswer {
  /** The answer's bytes, ready to send. */
  body: Buffer;
  cacheControl: string;
  age: number;
}

interface Meta {
  /** When the answer's data was fetched from Polyv (its oldest page), epoch ms: its age's origin. */
  at: number;
  maxAge: number;
  scope: 'public' | 'private';
}

const CACHEABLE = /^max-age=(\d+), (public|private)$/;

interface Decoded {
  stored: string;
  meta: Meta;
  body: Buffer;
}

export class ResponseCache {
  /**
   * The hot answers, already split and encoded: a dashboard answer is ~150 kB, and encoding it
   * to UTF-8 again for every hit cost more than the rest of the hit. An entry is used only
   * while the shared cache still holds the very same stored text, so it never outlives it.
   */
  private readonly decoded: LRUCache<string, Decoded>;

  constructor(
    private readonly cache: KeyValueCache<string>,
    /** Bytes of hot answers kept encoded. */
    decodedMaxBytes: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.decoded = new LRUCache<string, Decoded>({
      maxSize: Math.max(1, decodedMaxBytes),
      sizeCalculation: (entry) => entry.body.length + 64,
    });
  }

  /**
   * What identifies a request's answer: its exact bytes (the POST body, or a GET's query string;
   * hashed as received, never re-serialised, so no nesting can make the key expensive), and
   * whether it asked for a federated trace (a traced answer carries `extensions.ftv1`, which a
   * request that did not ask must not get).
   */
  static requestKey(request: Uint8Array | string, federationTrace: string | undefined): string {
    return createHash('sha256')
      .update(`trace:${federationTrace ?? ''}\n`)
      .update(request)
      .digest('base64url');
  }

  async lookup(principal: Principal, requestKey: string): Promise<CachedAnswer | undefined> {
    // A PUBLIC answer was computed with no key at all (API keys off, which allows every
    // channel); only a grant of the whole account may reuse one. (A replica with keys off
    // sharing Redis with replicas with keys on must not open their narrower keys' channels.)
    const scopes =
      principal.channels === 'all' ? [grantKey(principal), 'public'] : [grantKey(principal)];
    for (const scopeKey of scopes) {
      const key = `${scopeKey}:${requestKey}`;
      const stored = await this.cache.get(key);
      if (stored === undefined) continue;
      const { meta, body } = this.decode(key, stored);
      const ageMs = Math.max(0, this.clock() - meta.at);
      if (ageMs >= meta.maxAge * 1000) continue;
      return {
        body,
        cacheControl: `max-age=${meta.maxAge}, ${meta.scope}`,
        age: Math.floor(ageMs / 1000),
      };
    }
    return undefined;
  }

  private decode(key: string, stored: string): Decoded {
    const known = this.decoded.get(key);
    // The same string object when the in-process cache answered: compared by reference.
    if (known?.stored === stored) return known;
    const newline = stored.indexOf('\n');
    const entry: Decoded = {
      stored,
      meta: JSON.parse(stored.slice(0, newline)) as Meta,
      body: Buffer.from(stored.slice(newline + 1)),
    };
    this.decoded.set(key, entry);
    return entry;
  }

  /**
   * Stores an answer if its status and Cache-Control allow it, for what is left of its
   * freshness. `dataAt`: when its oldest page was fetched (epoch ms); absent, now.
   */
  async store(
    principal: Principal,
    requestKey: string,
    status: number,
    cacheControl: string | undefined,
    body: string,
    dataAt?: number,
  ): Promise<void> {
    const match = CACHEABLE.exec(cacheControl ?? '');
    if (status !== 200 || !match) return;
    const maxAge = Number(match[1]);
    const scope = match[2] === 'private' ? 'private' : 'public';
    const now = this.clock();
    const at = Math.min(dataAt ?? now, now);
    const leftMs = maxAge * 1000 - (now - at);
    if (leftMs <= 0) return;
    const meta: Meta = { at, maxAge, scope };
    const scopeKey = scope === 'private' ? grantKey(principal) : 'public';
    await this.cache.set(`${scopeKey}:${requestKey}`, `${JSON.stringify(meta)}\n${body}`, {
      ttl: leftMs / 1000,
    });
  }
}

/**
 * Where a PRIVATE answer is stored: the principal's grant, canonicalised (`grant:all`, or the
 * sorted channels, hashed to keep the key short). Not the key's name: a name is only a label in
 * one replica's keys file, and another replica (or the next version of the file) may bind the
 * same name to a narrower key; keyed by name, that key was replayed the wider key's answers,
 * channels it may not read included.
 *
 * Keyed by grant rather than by the key's hash, because an answer stored here depends on the
 * principal only through what it may read: authorisation (src/auth/authorise.ts) is the only
 * place a principal changes what is executed, and only error-free answers are stored, so the
 * key's name (which FORBIDDEN messages carry) never appears in a stored answer. Two keys with
 * the same grant would compute the same bytes; they may as well share them.
 */
export function grantKey(principal: Principal): string {
  if (principal.channels === 'all') return 'grant:all';
  const channels = [...principal.channels].sort().join(',');
  return `grant:channels:${createHash('sha256').update(channels).digest('base64url')}`;
}
