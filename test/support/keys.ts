/** API keys for tests: real keys, their hashes in a real keys file, as an operator would set it up. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashApiKey } from '../../src/auth/apiKeys.js';

export const KEYS = {
  /** May read channel 2812610 only. */
  ops: 'ops-key-3f9a1c77d2e84b6f',
  /** The whole account. */
  finance: 'finance-key-8b2d4e6f0a1c3e5f',
} as const;

/** Writes a keys file for KEYS and returns its path. */
export function writeKeysFile(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'polyv-keys-')), 'keys.json');
  writeFileSync(
    file,
    JSON.stringify([
      { name: 'ops-dashboard', sha256: hashApiKey(KEYS.ops), channels: ['2812610'] },
      { name: 'finance', sha256: hashApiKey(KEYS.finance) },
    ]),
  );
  return file;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
