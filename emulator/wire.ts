/**
 * What the emulator puts on the wire: its records in Polyv's shapes (the types are the
 * endpoints' declared schemas, src/polyv/endpoints.ts: no copy of them here), Polyv's two
 * envelope styles (v4 and v2) and its error table. The only fen-to-yuan conversion of the
 * emulator is here.
 */
import type { Envelope, WireRecordOf } from '../src/polyv/endpoints.js';
import {
  redPackBalanceFen,
  type EmulatedIncome,
  type EmulatedReceive,
  type EmulatedRedPack,
} from './data.js';

/** A reply an endpoint computed: the HTTP status, the JSON body, and how to record it. */
export interface EndpointReply {
  status: number;
  body: unknown;
  /** 'ok' or the error text, for the emulator's call log. */
  outcome: string;
  /** The page's records, an array somewhere in `body`: written one by one (see encodeJson). */
  records?: readonly unknown[];
}

/** Stands for the records while the envelope around them is written; no envelope holds U+0000. */
const HOLE = '\u0000';
const HOLE_JSON = JSON.stringify(HOLE);
const COMMA = Buffer.from(',');
const OPEN_BRACKET = Buffer.from('[');
const CLOSE_BRACKET = Buffer.from(']');

/**
 * A reply body as JSON in UTF-8: the bytes `JSON.stringify(body)` encodes to, made faster for a
 * page. A page of Chinese names is a two-byte string, and V8 builds a large JSON text as a
 * string of many pieces: encoding it flattens that first, which cost more than writing it (a
 * 260 kB page: ~5 ms against ~1 ms). So `records`, when it is an array in `body`, is written
 * apart from its envelope (see recordsJson): the answer's bytes are the pieces returned, in
 * order, sent as they are (joining them would copy the page into fresh memory every call).
 */
export function encodeJson(body: unknown, records?: readonly unknown[]): Buffer[] {
  if (records === undefined) return [Buffer.from(JSON.stringify(body), 'utf8')];
  let found = false;
  const envelope = JSON.stringify(body, (_key, value: unknown) => {
    if (value !== records) return value;
    found = true;
    return HOLE;
  });
  const at = found ? envelope.indexOf(HOLE_JSON) : -1;
  if (at < 0) return [Buffer.from(envelope, 'utf8')];
  return [
    Buffer.from(envelope.slice(0, at), 'utf8'),
    recordsJson(records),
    Buffer.from(envelope.slice(at + HOLE_JSON.length), 'utf8'),
  ];
}

/**
 * The last array written from each kept first record (see recordsJson); at most
 * WRITTEN_MAX_BYTES of them, the oldest dropped first (live activity shifts every page's first
 * record, so arrays written from records no longer first would pile up).
 */
const written = new Map<EncodedRecord, { records: readonly unknown[]; bytes: Buffer }>();
const WRITTEN_MAX_BYTES = 8 * 1024 * 1024;
let writtenBytes = 0;

/**
 * An array of records as JSON bytes, each record encoded on its own. When every record is a
 * kept one (EncodedRecord) and they are the very ones of the last array written from the same
 * first record (the same page asked for again, nothing in it changed), those bytes are reused.
 */
function recordsJson(records: readonly unknown[]): Buffer {
  const first = records[0];
  const last = first instanceof EncodedRecord ? written.get(first) : undefined;
  if (
    last !== undefined &&
    last.records.length === records.length &&
    last.records.every((record, index) => record === records[index])
  )
    return last.bytes;
  const parts: Buffer[] = [OPEN_BRACKET];
  records.forEach((record, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(
      record instanceof EncodedRecord
        ? record.bytes
        : // As inside an array: what JSON cannot write (undefined, a function) is null.
          Buffer.from(JSON.stringify(record) ?? 'null', 'utf8'),
    );
  });
  parts.push(CLOSE_BRACKET);
  const bytes = Buffer.concat(parts);
  if (
    first instanceof EncodedRecord &&
    records.every((record) => record instanceof EncodedRecord)
  ) {
    if (last !== undefined) writtenBytes -= last.bytes.length;
    written.delete(first);
    written.set(first, { records: [...records], bytes });
    writtenBytes += bytes.length;
    for (const [oldest, { bytes: dropped }] of written) {
      if (writtenBytes <= WRITTEN_MAX_BYTES) break;
      written.delete(oldest);
      writtenBytes -= dropped.length;
    }
  }
  return bytes;
}

/** The errors the emulator can answer with, whichever envelope they are written in. */
export type PolyvErrorKind =
  | 'applicationNotFound'
  | 'invalidSignature'
  | 'invalidTimestamp'
  | 'paramValidate'
  | 'channelNotFound'
  | 'accessForbidden'
  | 'invalidDateTime'
  | 'qps';

interface PolyvErrorSpec {
  /** Polyv's text: v4 `error.desc`, v2 `message`. */
  message: string;
  /** v4 `error.code`. */
  v4Code: number;
  /** v4 top-level `code`, which is also the HTTP status. */
  v4Status: number;
  /** v2 `code`; v2 errors always travel with HTTP 200. */
  v2Code: number;
}

/**
 * One table for both envelope styles. The texts are Polyv's documented messages; the
 * v4 error codes beyond 20001 are the emulator's own numbering (Polyv does not publish
 * a table), which is why the gateway should key on the text and the status, not these.
 */
export const POLYV_ERRORS: Readonly<Record<PolyvErrorKind, PolyvErrorSpec>> = {
  applicationNotFound: {
    message: 'application not found.',
    v4Code: 20001,
    v4Status: 400,
    v2Code: 400,
  },
  invalidSignature: { message: 'invalid signature.', v4Code: 20002, v4Status: 400, v2Code: 400 },
  invalidTimestamp: { message: 'invalid timestamp.', v4Code: 20003, v4Status: 400, v2Code: 400 },
  paramValidate: { message: 'param validate error', v4Code: 20004, v4Status: 400, v2Code: 400 },
  channelNotFound: { message: 'channel not found.', v4Code: 20005, v4Status: 400, v2Code: 400 },
  qps: { message: 'qps exceeds number of calls', v4Code: 20006, v4Status: 429, v2Code: 403 },
  accessForbidden: { message: 'access forbidden', v4Code: 20007, v4Status: 403, v2Code: 403 },
  invalidDateTime: {
    message: 'invalid date time format',
    v4Code: 20008,
    v4Status: 400,
    v2Code: 400,
  },
};

/** A record in Polyv's shape with its JSON bytes; written anywhere else, it is the record. */
export class EncodedRecord {
  constructor(
    readonly record: unknown,
    readonly bytes: Buffer,
  ) {}

  toJSON(): unknown {
    return this.record;
  }
}

/**
 * Each row's record in Polyv's shape and its JSON bytes, kept for the next page that holds the
 * row (a dashboard asks for the same page again and again): a kept record is reused only when
 * the row, written again, gives an equal record (same keys in the same order, same values), so
 * a row changed in place (live activity, a test's edit) is written anew. At most `maxBytes` are
 * kept, the oldest rows dropped first, so walking a channel of 100,000 red packs stays bounded.
 */
export class RecordEncoder<Row extends object> {
  readonly #kept = new Map<Row, EncodedRecord>();
  #keptBytes = 0;

  constructor(
    private readonly toWire: (row: Row) => unknown,
    private readonly maxBytes: number,
  ) {}

  encode(row: Row): EncodedRecord {
    const record = this.toWire(row);
    const kept = this.#kept.get(row);
    if (kept !== undefined) {
      if (sameJson(kept.record, record)) return kept;
      this.#kept.delete(row);
      this.#keptBytes -= kept.bytes.length;
    }
    const encoded = new EncodedRecord(
      record,
      Buffer.from(JSON.stringify(record) ?? 'null', 'utf8'),
    );
    this.#kept.set(row, encoded);
    this.#keptBytes += encoded.bytes.length;
    for (const [oldest, { bytes }] of this.#kept) {
      if (this.#keptBytes <= this.maxBytes) break;
      this.#kept.delete(oldest);
      this.#keptBytes -= bytes.length;
    }
    return encoded;
  }
}

/** True when JSON.stringify writes both the same: plain data compared key by key, in order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlain(a) || !isPlain(b)) return false;
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key !== otherKeys[i] || !sameJson(a[key], b[key])) return false;
  }
  return true;
}

/** An object JSON writes as its own enumerable keys: no toJSON, not a Date, Map or class. */
function isPlain(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && !('toJSON' in value);
}

/**
 * Polyv's yuan float. Dividing an integer by 100 gives the double nearest the exact
 * two-decimal value, which JSON then prints in its shortest form (98 → 0.98).
 */
export function fenToYuan(fen: number): number {
  return fen / 100;
}

/** A red pack in Polyv's shape; channelId is a number, as in Polyv's example. */
export function toPolyvRedPack(pack: EmulatedRedPack): WireRecordOf<'redPackStatistics'> {
  return {
    redPackId: pack.redPackId,
    userId: pack.userId,
    channelId: Number(pack.channelId),
    nickName: pack.nickName,
    amount: fenToYuan(pack.amountFen),
    balance: fenToYuan(redPackBalanceFen(pack)),
    allotType: pack.allotType,
    createdTime: pack.createdTime,
    channelSessionId: pack.channelSessionId,
    status: pack.status,
    redPackType: pack.redPackType,
    redPackReceiveList: pack.receives.map(toPolyvReceive),
  };
}

function toPolyvReceive(receive: EmulatedReceive) {
  return {
    redPackId: receive.redPackId,
    userId: receive.userId,
    nickName: receive.nickName,
    avatar: receive.avatar,
    amount: fenToYuan(receive.amountFen),
    createdTime: receive.createdTime,
  };
}

/** An income record in Polyv's shape. */
export function toPolyvIncome(income: EmulatedIncome): WireRecordOf<'incomeDetail'> {
  return {
    userId: income.userId,
    amount: fenToYuan(income.amountFen),
    goodNum: income.goodNum,
    channelId: Number(income.channelId),
    payType: income.payType,
    payTypeName: income.payTypeName,
    viewerName: income.viewerName,
    payTime: income.payTime,
    weixinAppId: income.weixinAppId,
    outTradeNo: income.outTradeNo,
    openId: income.openId,
  };
}

/** A v4 success: `{ code, status, requestId, data, success }`. */
export function v4Success(requestId: string, data: unknown): EndpointReply {
  return {
    status: 200,
    body: { code: 200, status: 'success', requestId, data, success: true },
    outcome: 'ok',
  };
}

/** A v4 error, sent with the HTTP status equal to its top-level code. */
export function v4Error(kind: PolyvErrorKind, requestId: string): EndpointReply {
  const spec = POLYV_ERRORS[kind];
  return {
    status: spec.v4Status,
    body: {
      code: spec.v4Status,
      status: 'error',
      requestId,
      error: { code: spec.v4Code, desc: spec.message },
      success: false,
    },
    outcome: spec.message,
  };
}

/** A v2 success: `{ code, status, message, data }`. */
export function v2Success(data: unknown): EndpointReply {
  return { status: 200, body: { code: 200, status: 'success', message: '', data }, outcome: 'ok' };
}

/** A v2 error: HTTP 200 with the failure only in the envelope, as Polyv's v2 API does. */
export function v2Error(kind: PolyvErrorKind): EndpointReply {
  const spec = POLYV_ERRORS[kind];
  return {
    status: 200,
    body: { code: spec.v2Code, status: 'error', message: spec.message, data: '' },
    outcome: spec.message,
  };
}

/** v4 paging: `{ pageNumber, pageSize, totalPages, totalItems, contents }`. */
export function v4Page<T>(contents: T[], totalItems: number, pageNumber: number, pageSize: number) {
  return {
    pageNumber,
    pageSize,
    totalPages: Math.ceil(totalItems / pageSize),
    totalItems,
    contents,
  };
}

/**
 * v2 paging, with the derived fields of Polyv's example: `limit` is the number of rows on
 * this page, rows are numbered from 1 (0 when the page is empty), and the previous/next
 * page numbers stay within [1, totalPages].
 */
export function v2Page<T>(contents: T[], totalItems: number, pageNumber: number, pageSize: number) {
  const totalPages = Math.ceil(totalItems / pageSize);
  const offset = (pageNumber - 1) * pageSize;
  const empty = contents.length === 0;
  return {
    pageSize,
    pageNumber,
    totalItems,
    contents,
    startRow: empty ? 0 : offset + 1,
    firstPage: pageNumber === 1,
    lastPage: pageNumber >= totalPages,
    prePageNumber: Math.max(1, pageNumber - 1),
    limit: contents.length,
    totalPages,
    nextPageNumber: Math.max(1, Math.min(totalPages, pageNumber + 1)),
    endRow: empty ? 0 : offset + contents.length,
    offset,
  };
}

/** Each envelope's way of writing an answer: one entry per style, chosen by an endpoint's declaration. */
export const ENVELOPES: Readonly<
  Record<
    Envelope,
    {
      success(requestId: string, data: unknown): EndpointReply;
      error(kind: PolyvErrorKind, requestId: string): EndpointReply;
      page<T>(contents: T[], totalItems: number, pageNumber: number, pageSize: number): unknown;
    }
  >
> = {
  v4: { success: v4Success, error: v4Error, page: v4Page },
  v2: { success: (_, data) => v2Success(data), error: (kind) => v2Error(kind), page: v2Page },
};
