/**
 * Leak checks: nothing a client or a log reader sees may contain the app secret, a signature
 * Polyv received, or an API key. Signatures are recomputed from what the emulator recorded.
 */
import { expect } from '@jest/globals';
import type { PolyvEmulator } from '../../emulator/index.js';
import { signParams } from '../../src/polyv/sign.js';

/** Every secret a transcript must not contain. */
export function secretsOf(emulator: PolyvEmulator, apiKeys: readonly string[] = []): string[] {
  const signatures = emulator.calls.map((call) =>
    signParams(call.params, emulator.credentials.appSecret),
  );
  return [emulator.credentials.appSecret, ...new Set(signatures), ...apiKeys];
}

export function expectNoLeaks(transcript: string, secrets: readonly string[]): void {
  const found = secrets.filter((secret) => transcript.includes(secret));
  expect(found).toEqual([]);
}
