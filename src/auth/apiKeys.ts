/**
 * API keys: who may ask. The keys file holds only SHA-256 hashes of keys, never keys:
 *
 *   [{ "name": "ops-dashboard", "sha256": "<hex of sha256(key)>", "channels": ["2812610"] }]
 *
 * `channels` absent means every channel and the account-level income. A presented key is
 * hashed and compared with every stored hash in constant time, so neither timing nor the
 * order of the file tells anything about the keys.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Who is asking, as far as authorisation is concerned. */
export interface Principal {
  /** The key's name from the keys file (never the key), or `anonymous` with auth off. */
  name: string;
  /** Channels this principal may read; `all` also allows the account-level income. */
  channels: 'all' | ReadonlySet<string>;
}

export const ANONYMOUS: Principal = { name: 'anonymous', channels: 'all' };

export interface ApiKey {
  name: string;
  hash: Buffer;
  channels: 'all' | ReadonlySet<string>;
}

const keysFile = z
  .array(
    z.object({
      name: z.string().trim().min(1).max(100),
      sha256: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the SHA-256 of the key)'),
      channels: z.array(z.string().regex(/^\d{1,20}$/, 'must be a channel number')).optional(),
    }),
  )
  .min(1, 'must list at least one key')
  .superRefine((keys, context) => {
    const names = new Set<string>();
    for (const [index, key] of keys.entries()) {
      if (names.has(key.name))
        context.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicate name ${key.name}`,
        });
      names.add(key.name);
    }
  });

/** Reads and validates the keys file; errors say what is wrong and where, never a hash. */
export function readApiKeysFile(path: string): ApiKey[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(
      `cannot read ${path} as JSON (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'})`,
    );
  }
  const parsed = keysFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${path}: ${issue ? `${issue.path.join('.') || 'file'}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data.map((key) => ({
    name: key.name,
    hash: Buffer.from(key.sha256.toLowerCase(), 'hex'),
    channels: key.channels ? new Set(key.channels) : 'all',
  }));
}

/** The hex SHA-256 of a key: what goes into the keys file. */
export const hashApiKey = (key: string): string =>
  createHash('sha256').update(key, 'utf8').digest('hex');

/** The principal a presented key belongs to, or undefined. Constant time in the key's content. */
export function authenticate(keys: readonly ApiKey[], presented: string): Principal | undefined {
  const hash = createHash('sha256').update(presented, 'utf8').digest();
  let match: ApiKey | undefined;
  // Compare with every key, without stopping early.
  for (const key of keys) {
    if (timingSafeEqual(hash, key.hash) && !match) match = key;
  }
  return match && { name: match.name, channels: match.channels };
}

export const canReadChannel = (principal: Principal, channelId: string): boolean =>
  principal.channels === 'all' || principal.channels.has(channelId);

/** The account-level income (all channels at once) needs a key allowed the whole account. */
export const canReadAccount = (principal: Principal): boolean => principal.channels === 'all';
