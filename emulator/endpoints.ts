/**
 * The Polyv endpoints as pure functions of the received parameters: authentication, validation,
 * filtering and paging, answered in each endpoint's own envelope style. What Polyv-side is
 * declared once for the gateway too (src/polyv/endpoints.ts: path, method, envelope, paging,
 * the record's shape) is read from there; what is here is each endpoint's behaviour over the
 * demo data, one entry per endpoint in EMULATIONS. Transport concerns (routes, reading bodies,
 * latency, faults) stay in server.ts.
 */
import {
  ENDPOINT_IDS,
  POLYV_ENDPOINTS,
  type EndpointId,
  type WireRecordOf,
} from '../src/polyv/endpoints.js';
import { signParams } from '../src/polyv/sign.js';
import { FOREIGN_CHANNEL_ID, type DemoDataset } from './data.js';
import {
  ENVELOPES,
  RecordEncoder,
  toPolyvIncome,
  toPolyvRedPack,
  type EndpointReply,
  type PolyvErrorKind,
} from './wire.js';

/** The emulated Polyv endpoints, as named in the call log: every declared one. */
export const EMULATED_ENDPOINTS = ENDPOINT_IDS;
export type EmulatedEndpoint = EndpointId;

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

/** One call to an endpoint, as its emulation reads it. */
export interface EndpointCall {
  /** The received parameters (query or form body, as the endpoint is called). */
  params: Record<string, string>;
  /** The path parameters (`{userId}`), decoded. */
  path: Record<string, string>;
  context: EndpointContext;
}

/**
 * One endpoint's behaviour: which of the demo data's rows a call selects (newest first), or the
 * error Polyv answers it with; and a row in Polyv's shape (the declared record's wire type).
 */
interface Emulation<Endpoint extends EndpointId, Row> {
  select(call: EndpointCall): readonly Row[] | PolyvErrorKind;
  toWire(row: Row): WireRecordOf<Endpoint>;
  /** Parameters of a call that selects some of the demo data (path parameters included). */
  example(store: DemoDataset): Record<string, string>;
}

/** An emulation with its row type sealed in: the selected rows and how to write a slice of them. */
type Selection = { total: number; slice(from: number, to: number): unknown[] } | PolyvErrorKind;
interface SealedEmulation {
  select(call: EndpointCall): Selection;
  example(store: DemoDataset): Record<string, string>;
}

/**
 * Bytes of records kept for the next page, per endpoint (see RecordEncoder): some thirty pages of
 * a hundred red packs with their receives. The emulator may run inside a demo gateway, whose
 * memory this is too.
 */
const KEPT_RECORD_BYTES = 8 * 1024 * 1024;

const emulate = <Endpoint extends EndpointId, Row extends object>(
  emulation: Emulation<Endpoint, Row>,
): SealedEmulation => {
  const encoder = new RecordEncoder(emulation.toWire, KEPT_RECORD_BYTES);
  return {
    select: (call) => {
      const rows = emulation.select(call);
      return typeof rows === 'string'
        ? rows
        : {
            total: rows.length,
            slice: (from: number, to: number) =>
              rows.slice(from, to).map((row) => encoder.encode(row)),
          };
    },
    example: emulation.example,
  };
};

/** Polyv accepts a timestamp up to three minutes away from its own clock. */
export const TIMESTAMP_TOLERANCE_MS = 3 * 60 * 1000;

const CST_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every declared endpoint's behaviour; a declared endpoint without one does not type-check. */
const EMULATIONS: { readonly [Endpoint in EndpointId]: SealedEmulation } = {
  redPackStatistics: emulate({
    select: ({ params, context }) => {
      const channelId = readText(params, 'channelId');
      const startTime = readInteger(params, 'startTime', 0, Number.MAX_SAFE_INTEGER);
      const endTime = readInteger(params, 'endTime', 0, Number.MAX_SAFE_INTEGER);
      if (
        channelId === undefined ||
        !/^\d+$/.test(channelId) ||
        startTime === 'invalid' ||
        endTime === 'invalid'
      )
        return 'paramValidate';
      const packs = context.store.redPacks.get(channelId);
      if (packs === undefined)
        return channelId === FOREIGN_CHANNEL_ID ? 'accessForbidden' : 'channelNotFound';

      const sessionId = readText(params, 'sessionId');
      // Both bounds are inclusive; the list is already newest first. Unfiltered, it is served as
      // it is (copying a 100,000-pack channel for every page would make the emulator the bottleneck).
      if (sessionId === undefined && startTime === 'absent' && endTime === 'absent') return packs;
      return packs.filter(
        (pack) =>
          (sessionId === undefined || pack.channelSessionId === sessionId) &&
          (startTime === 'absent' || pack.createdTime >= startTime) &&
          (endTime === 'absent' || pack.createdTime <= endTime),
      );
    },
    toWire: toPolyvRedPack,
    example: (store) => ({ channelId: store.channels[0]!.channelId }),
  }),

  incomeDetail: emulate({
    select: ({ params, path, context }) => {
      // The path names the account; a userId in the body (as Polyv's Java SDK sends) must agree.
      const bodyUserId = readText(params, 'userId');
      if (
        path['userId'] !== context.store.userId ||
        (bodyUserId !== undefined && bodyUserId !== path['userId'])
      )
        return 'accessForbidden';

      const startDate = cstDayStart(readText(params, 'startDate'));
      const endDate = cstDayStart(readText(params, 'endDate'));
      if (startDate === undefined || endDate === undefined || startDate > endDate)
        return 'invalidDateTime';

      // Absent or "0" means every channel of the account.
      const channelText = readText(params, 'channelId');
      const channelId = channelText === undefined || channelText === '0' ? undefined : channelText;
      if (channelId !== undefined && !/^\d+$/.test(channelId)) return 'paramValidate';

      // Both days are whole China Standard Time days: [start 00:00, end+1 00:00) CST.
      const until = endDate + DAY_MS;
      return context.store.income.filter(
        (row) =>
          row.payTime >= startDate &&
          row.payTime < until &&
          (channelId === undefined || row.channelId === channelId),
      );
    },
    toWire: toPolyvIncome,
    // From the oldest record's day to the newest's: every record of the account.
    example: (store) => ({
      userId: store.userId,
      startDate: cstDayOf(store.income.at(-1)!.payTime),
      endDate: cstDayOf(store.income[0]!.payTime),
    }),
  }),
};

/**
 * One call to a declared endpoint: authenticated, its rows selected, one page of them written
 * in the endpoint's envelope.
 */
export function handleEndpoint(endpoint: EndpointId, call: EndpointCall): EndpointReply {
  const { envelope, pageNumberParam, maxPageSize, defaultPageSize } = POLYV_ENDPOINTS[endpoint];
  const { params, context } = call;
  const answer = ENVELOPES[envelope];
  const fail = (kind: PolyvErrorKind) => answer.error(kind, context.requestId);

  const authError = authenticate(params, context);
  if (authError !== undefined) return fail(authError);
  const selected = EMULATIONS[endpoint].select(call);
  if (typeof selected === 'string') return fail(selected);
  const pageNumber = readInteger(params, pageNumberParam, 1, Number.MAX_SAFE_INTEGER);
  const pageSize = readInteger(params, 'pageSize', 1, maxPageSize);
  if (pageNumber === 'invalid' || pageSize === 'invalid') return fail('paramValidate');

  const page = pageNumber === 'absent' ? 1 : pageNumber;
  const size = pageSize === 'absent' ? defaultPageSize : pageSize;
  const contents = selected.slice((page - 1) * size, page * size);
  return {
    ...answer.success(context.requestId, answer.page(contents, selected.total, page, size)),
    records: contents,
  };
}

/** Parameters of a call to `endpoint` that selects some of the store's data, for tests and demos. */
export function exampleParams(endpoint: EndpointId, store: DemoDataset): Record<string, string> {
  return EMULATIONS[endpoint].example(store);
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

/** The China Standard Time day (`yyyy-MM-dd`) of an instant. */
function cstDayOf(ms: number): string {
  return new Date(ms + CST_OFFSET_MS).toISOString().slice(0, 10);
}
