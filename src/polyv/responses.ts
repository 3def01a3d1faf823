/**
 * Run-time schemas of Polyv's answers: its two envelopes, and the pieces every endpoint's
 * records are made of (each list module in src/lists/ builds its records' schema from them).
 * Anything that does not match is a malformed answer (a clear upstream error), never a crash
 * deep in a resolver or a field silently null.
 */
import { z } from 'zod';

/** Polyv sends ids sometimes as numbers (channelId in examples), sometimes as strings. */
export const idString = z.union([z.string(), z.number().int()]).transform(String);
export const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? null);
export const millis = z.number().int().nonnegative();
export const yuan = z.number();

/** v4 envelope (`/live/v4/...`): success flag, error object, requestId. */
export const v4Envelope = z.object({
  code: z.number().int(),
  status: z.string().optional(),
  success: z.boolean().optional(),
  requestId: z.string().optional(),
  data: z.unknown().optional(),
  error: z.object({ code: z.number().int(), desc: z.string().optional().default('') }).nullish(),
});

/** v2 envelope (`/live/v2/...`): code, status text and message; `data` may be "" on error. */
export const v2Envelope = z.object({
  code: z.number().int(),
  status: z.string().optional(),
  message: z.string().nullish(),
  data: z.unknown().optional(),
});
