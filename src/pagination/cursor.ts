/**
 * Cursors: opaque to clients, versioned, and bound to the list they came from.
 *
 * A cursor records where its record stood (`position`), which record it was (`id`, `time`)
 * and how long the list was (`total`). The binding is a hash of the list's identity and
 * filters, so a cursor from another channel or another date range is rejected instead of
 * silently pointing at a different record.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const VERSION = 'c1';

export interface Cursor {
  /** Hash of the list identity the cursor belongs to. */
  binding: string;
  /** 0-based position of the record in the list when the cursor was made. */
  position: number;
  /** The record's id, to find it again if the list has shifted. */
  id: string;
  /** The record's time (ms), kept for diagnostics and ordering checks. */
  time: number;
  /** The list's total when the cursor was made: the first guess of how far it shifted. */
  total: number;
}

/** No Polyv list is this long: a cursor claiming more was not made by us. */
export const MAX_POSITION = 10_000_000;

const payload = z.tuple([
  z.literal(VERSION),
  z.string().max(64),
  z.number().int().nonnegative().max(MAX_POSITION),
  z.string().max(128),
  z.number().int(),
  z.number().int().nonnegative().max(MAX_POSITION),
]);

/**
 * The longest cursor text we can produce: JSON of the longest fields (an id of 128 UTF-16 units,
 * each at most 6 bytes escaped; a 64-character binding; three 16-digit numbers; punctuation)
 * is under 1,000 bytes, and base64url makes 4 characters of 3 bytes. Longer text is not ours,
 * and is refused before anything parses it.
 */
export const MAX_CURSOR_LENGTH = Math.ceil((1_000 * 4) / 3);

/** A short, stable hash of a list's identity (endpoint and normalised filters). */
export function bindingOf(listIdentity: string): string {
  return createHash('sha256').update(listIdentity).digest('base64url').slice(0, 16);
}

export function encodeCursor(cursor: Cursor): string {
  const fields = [VERSION, cursor.binding, cursor.position, cursor.id, cursor.time, cursor.total];
  return Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
}

/** Decodes a cursor; returns undefined for anything that is not a cursor of ours. */
export function decodeCursor(text: string): Cursor | undefined {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = payload.safeParse(json);
  if (!parsed.success) return undefined;
  const [, binding, position, id, time, total] = parsed.data;
  return { binding, position, id, time, total };
}
