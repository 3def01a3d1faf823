/**
 * Run-time schemas of Polyv's answers. Anything that does not match is a malformed answer
 * (a clear upstream error), never a crash deep in a resolver or a field silently null.
 */
import { z } from 'zod';

/** Polyv sends ids sometimes as numbers (channelId in examples), sometimes as strings. */
const idString = z.union([z.string(), z.number().int()]).transform(String);
const optionalText = z
  .string()
  .nullish()
  .transform((value) => value ?? null);
const millis = z.number().int().nonnegative();
const yuan = z.number();

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

export const redPackReceive = z.object({
  redPackId: idString,
  userId: z.string(),
  nickName: optionalText,
  avatar: optionalText,
  amount: yuan,
  createdTime: millis,
});

export const redPack = z.object({
  redPackId: idString,
  userId: z.string(),
  channelId: idString,
  nickName: optionalText,
  amount: yuan,
  balance: yuan,
  allotType: z.string(),
  createdTime: millis,
  status: z.string(),
  redPackType: z.string(),
  channelSessionId: idString.nullish(),
  sessionId: idString.nullish(),
  redPackReceiveList: z
    .array(redPackReceive)
    .nullish()
    .transform((list) => list ?? []),
});
export type RawRedPack = z.infer<typeof redPack>;

export const redPackPage = z.object({
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  totalPages: z.number().int().nonnegative(),
  totalItems: z.number().int().nonnegative(),
  contents: z.array(redPack),
});

export const incomeRecord = z.object({
  userId: idString,
  amount: yuan,
  goodNum: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? null),
  channelId: idString,
  payType: z.string(),
  payTypeName: optionalText,
  viewerName: optionalText,
  payTime: millis,
  weixinAppId: optionalText,
  outTradeNo: idString,
  openId: optionalText,
});
export type RawIncomeRecord = z.infer<typeof incomeRecord>;

export const incomePage = z.object({
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  totalItems: z.number().int().nonnegative(),
  totalPages: z.number().int().nonnegative().optional(),
  contents: z.array(incomeRecord),
});
