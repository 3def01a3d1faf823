/**
 * Who may read what, decided before any upstream call: a principal may read only the channels
 * its API key allows, and only a key allowed the whole account may read account-level income.
 */
import { canReadAccount, canReadChannel, type Principal } from './apiKeys.js';

/** The principal's key does not allow what it asked for (FORBIDDEN for the client). */
export class AccessDenied extends Error {
  override readonly name = 'AccessDenied';
}

/** Throws AccessDenied unless the principal may read the channel (absent: the whole account). */
export function authorise(principal: Principal, channelId: string | undefined): void {
  if (channelId === undefined) {
    if (!canReadAccount(principal)) {
      throw new AccessDenied(
        `The API key "${principal.name}" may read only some channels, not the whole account's income: pass channelId.`,
      );
    }
  } else if (!canReadChannel(principal, channelId)) {
    throw new AccessDenied(`The API key "${principal.name}" may not read channel ${channelId}.`);
  }
}
