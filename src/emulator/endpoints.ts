/**
 * The two Polyv endpoints as pure functions of the received parameters: authentication,
 * validation, filtering and paging, answered in each endpoint's own envelope style.
 * Transport concerns (reading bodies, latency, faults) stay in server.ts.
 */
import { signParams } from '../polyv/sign.js';
import { FOREIGN_CHANNEL_ID, type DemoDataset } from './data.js';
import {
  toPolyvIncome,
  toPolyvRedPack,
  v2Error,
  v2Page,
  v2Success,
  v4Error,
  v4Page,
  v4Success,
  type EndpointReply,
  type PolyvErrorKind,
} from './wire.js';

/** The emulated Polyv endpoints, as named in the call log. */
export const EMULATED_ENDPOINTS = ['redPackStatistics', 'incomeDetail'] as const;
export type EmulatedEndpoint = (typeof EMULATED_ENDPOINTS)[number];

/** The account the emulator accepts requests for. */
export interface EmulatorCredentials {
  appId: string;
  appSecret: string;
  userId: string;
}

/** What an endpoint needs besides the parameters. */
export interface EndpointContext {
  store: DemoDataset;
  credentials: EmulatorCredentials;
  /** The emulator clock, against which timestamps are checked. */
  now: number;
  requestId: string;
}

/** Polyv accepts a timestamp up to three minutes away from its own clock. */
export const TIMESTAMP_TOLERANCE_MS = 3 * 60 * 1000;
/** The largest page either endpoint serves (documented for v4; Polyv's SDK caps v2 at it too). */
export const MAX_PAGE_SIZE = 1000;
export const RED_PACK_DEFAULT_PAGE_SIZE = 10;
export const INCOME_DEFAULT_PAGE_SIZE = 12;

const CST_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** `GET /live/v4/channel/red-pack/statistics/list`. */
export function handleRedPackStatistics(
  params: Record<string, string>,
  context: EndpointContext,
): EndpointReply {
  const fail = (kind: PolyvErrorKind): EndpointReply => v4Error(kind, context.requestId);
  const authError = authenticate(params, context);
  if (authError !== undefined) return fail(authError);

  const channelId = readText(params, 'channelId');
  const pageNumber = readInteger(params, 'pageNumber', 1, Number.MAX_SAFE_INTEGER);
  const pageSize = readInteger(params, 'pageSize', 1, MAX_PAGE_SIZE);
  const startTime = readInteger(params, 'startTime', 0, Number.MAX_SAFE_INTEGER);
  const endTime = readInteger(params, 'endTime', 0, Number.MAX_SAFE_INTEGER);
  if (
    channelId === undefined ||
    !/^\d+$/.test(channelId) ||
    pageNumber === 'invalid' ||
    pageSize === 'invalid' ||
    startTime === 'invalid' ||
    endTime === 'invalid'
  ) {
    return fail('paramValidate');
  }
  const packs = context.store.redPacks.get(channelId);
  if (packs === undefined) {
    return fail(channelId === FOREIGN_CHANNEL_ID ? 'accessForbidden' : 'channelNotFound');
  }

  const sessionId = readText(params, 'sessionId');
  // Both bounds are inclusive; the list is already newest first. Unfiltered, it is served as
  // it is (copying a 100,000-pack channel for every page would make the emulator the bottleneck).
  const filtered = sessionId !== undefined || startTime !== 'absent' || endTime !== 'absent';
  const matching = !filtered
    ? packs
    : packs.filter(
        (pack) =>
          (sessionId === undefined || pack.channelSessionId === sessionId) &&
          (startTime === 'absent' || pack.createdTime >= startTime) &&
          (endTime === 'absent' || pack.createdTime <= endTime),
      );
  const page = pageNumber === 'absent' ? 1 : pageNumber;
  const size = pageSize === 'absent' ? RED_PACK_DEFAULT_PAGE_SIZE : pageSize;
  const contents = matching.slice((page - 1) * size, page * size).map(toPolyvRedPack);
  return v4Success(context.requestId, v4Page(contents, matching.length, page, size));
}

/** `POST /live/v2/user/{userId}/get-income-detail`; `pathUserId` is the decoded path segment. */
export function handleIncomeDetail(
  params: Record<string, string>,
  pathUserId: string,
  context: EndpointContext,
): EndpointReply {
  const authError = authenticate(params, context);
  if (authError !== undefined) return v2Error(authError);

  // The path names the account; a userId in the body (as Polyv's Java SDK sends) must agree.
  const bodyUserId = readText(params, 'userId');
  if (
    pathUserId !== context.store.userId ||
    (bodyUserId !== undefined && bodyUserId !== pathUserId)
  ) {
    return v2Error('accessForbidden');
  }

  const startDate = cstDayStart(readText(params, 'startDate'));
  const endDate = cstDayStart(readText(params, 'endDate'));
  if (startDate === undefined || endDate === undefined || startDate > endDate) {
    return v2Error('invalidDateTime');
  }

  // Absent or "0" means every channel of the account.
  const channelText = readText(params, 'channelId');
  const channelId = channelText === undefined || channelText === '0' ? undefined : channelText;
  const pageNumber = readInteger(params, 'page', 1, Number.MAX_SAFE_INTEGER);
  const pageSize = readInteger(params, 'pageSize', 1, MAX_PAGE_SIZE);
  if (
    (channelId !== undefined && !/^\d+$/.test(channelId)) ||
    pageNumber === 'invalid' ||
    pageSize === 'invalid'
  ) {
    return v2Error('paramValidate');
  }

  // Both days are whole China Standard Time days: [start 00:00, end+1 00:00) CST.
  const until = endDate + DAY_MS;
  const matching = context.store.income.filter(
    (row) =>
      row.payTime >= startDate &&
      row.payTime < until &&
      (channelId === undefined || row.channelId === channelId),
  );
  const page = pageNumber === 'absent' ? 1 : pageNumber;
  const size = pageSize === 'absent' ? INCOME_DEFAULT_PAGE_SIZE : pageSize;
  const contents = matching.slice((page - 1) * size, page * size).map(toPolyvIncome);
  return v2Success(v2Page(contents, matching.length, page, size));
}

/**
 * Checks appId, timestamp and signature, in that order. The signature is verified with
 * the gateway's own signing function, over every received parameter except `sign`.
 */
function authenticate(
  params: Record<string, string>,
  { credentials, now }: EndpointContext,
): PolyvErrorKind | undefined {
  if (readText(params, 'appId') !== credentials.appId) return 'applicationNotFound';
  const timestamp = readText(params, 'timestamp');
  if (
    timestamp === undefined ||
    !/^\d{13}$/.test(timestamp) ||
    Math.abs(now - Number(timestamp)) > TIMESTAMP_TOLERANCE_MS
  ) {
    return 'invalidTimestamp';
  }
  const method = params['signatureMethod'] === 'SHA256' ? 'SHA256' : 'MD5';
  if (params['sign'] !== signParams(params, credentials.appSecret, method))
    return 'invalidSignature';
  return undefined;
}

/** A parameter's value, or undefined when absent, empty or blank (Polyv ignores those). */
function readText(params: Record<string, string>, key: string): string | undefined {
  const value = Object.hasOwn(params, key) ? params[key] : undefined;
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** An optional integer parameter: its value, 'absent', or 'invalid' when malformed or out of range. */
function readInteger(
  params: Record<string, string>,
  key: string,
  min: number,
  max: number,
): number | 'absent' | 'invalid' {
  const text = readText(params, key);
  if (text === undefined) return 'absent';
  if (!/^\d+$/.test(text)) return 'invalid';
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : 'invalid';
}

/** The first instant of a `yyyy-MM-dd` China Standard Time day, or undefined unless a real date. */
function cstDayStart(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const utcMidnight = Date.UTC(year, month - 1, day);
  // Date.UTC rolls 2026-02-30 over to March; a real date survives the round trip.
  const parsed = new Date(utcMidnight);
  if (
    parsed.getUTCFullYear() !== year ||
    parsed.getUTCMonth() !== month - 1 ||
    parsed.getUTCDate() !== day
  ) {
    return undefined;
  }
  return utcMidnight - CST_OFFSET_MS;
}
