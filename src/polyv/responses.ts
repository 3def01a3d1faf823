/**
 * Run-time schemas of Polyv's answers: its two envelopes, how each pages a list, and the pieces
 * every endpoint's records are made of (endpoints.ts builds each record's schema from them).
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

/** Polyv's two answer styles: `/live/v4/...` and `/live/v2/...`. */
export type Envelope = 'v4' | 'v2';

/**
 * One page of a list in `data`, as each envelope pages it. Both carry the page and the total;
 * v4 always says how many pages there are, v2 adds row arithmetic we do not read.
 */
export function listPage<Record extends z.ZodType>(envelope: Envelope, record: Record) {
  return z.object({
    pageNumber: z.number().int(),
    pageSize: z.number().int(),
    totalItems: z.number().int().nonnegative(),
    totalPages:
      envelope === 'v4'
        ? z.number().int().nonnegative()
        : z.number().int().nonnegative().optional(),
    contents: z.array(record),
  });
}
