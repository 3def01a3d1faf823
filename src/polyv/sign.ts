import { createHash } from 'node:crypto';

/** A request parameter value as Polyv receives it; absent values are simply not sent. */
export type ParamValue = string | number | undefined | null;

export type SignatureMethod = 'MD5' | 'SHA256';

/**
 * Drops the values Polyv ignores (null, empty, whitespace-only) and stringifies the rest.
 * What we send must be exactly what we sign, so both use this.
 */
export function normaliseParams(params: Record<string, ParamValue>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === 'sign' || value === undefined || value === null) continue;
    const text = String(value);
    if (text.trim() === '') continue;
    kept[key] = text;
  }
  return kept;
}

/**
 * Polyv's signature: secret + key1value1key2value2… (keys in ascending ASCII order,
 * no separators, no URL-encoding) + secret, hashed and written as upper-case hex.
 */
export function signParams(
  params: Record<string, ParamValue>,
  appSecret: string,
  method: SignatureMethod = 'MD5',
): string {
  const kept = normaliseParams(params);
  // Plain code-unit comparison is ASCII order; localeCompare would not be.
  const keys = Object.keys(kept).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const concatenated = keys.map((key) => key + kept[key]).join('');
  const algorithm = method === 'SHA256' ? 'sha256' : 'md5';
  return createHash(algorithm)
    .update(appSecret + concatenated + appSecret, 'utf8')
    .digest('hex')
    .toUpperCase();
}

/** Parameters plus a fresh timestamp and their signature: what one attempt sends. */
export function signedParams(
  params: Record<string, ParamValue>,
  credentials: { appId: string; appSecret: string },
  now: number = Date.now(),
): Record<string, string> {
  const withAuth = normaliseParams({ ...params, appId: credentials.appId, timestamp: now });
  return { ...withAuth, sign: signParams(withAuth, credentials.appSecret) };
}
