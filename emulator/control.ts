/**
 * The emulator's HTTP control API (under /__emulator/), so that a standalone emulator
 * (`npm run emulator`) can be inspected and steered from outside the process.
 *
 *   GET    /__emulator/stats       counts of Polyv calls, in flight, latency, pending faults,
 *                                   running live schedules
 *   POST   /__emulator/reset       forget calls and the high-water mark, drop pending faults
 *   POST   /__emulator/faults      { "fault": "http503", "count": 2, "endpoint": "incomeDetail" }
 *   DELETE /__emulator/faults      drop pending faults
 *   POST   /__emulator/latency     { "ms": 20 }
 *   POST   /__emulator/red-packs   { "channelId": "2812610" }  → the new red pack (in progress,
 *                                   unclaimed), Polyv-shaped
 *   POST   /__emulator/receives    { "redPackId": "…" }  → the red pack with one more claim,
 *                                   Polyv-shaped
 *   POST   /__emulator/income      { "channelId": "2812613" }  → the new income record, Polyv-shaped
 *   POST   /__emulator/live        { "channelId": "2812610", "everyMs": 2000 }  start (or restart)
 *                                   live red-pack activity on a channel; everyMs defaults to 2000
 *   DELETE /__emulator/live        { "channelId": "2812610" }  stop it; an empty body stops all
 *
 * A live schedule is reported as { channelId, everyMs, ticks, redPacksCreated, receivesAdded }:
 * running ones in "live" (of stats and of both live actions), the ones DELETE just stopped,
 * with their final counts, in "stopped".
 *
 * The API is for scripts and tests, never for a browser: a request carrying an `Origin` other
 * than the emulator's own, or a `Sec-Fetch-Site` other than `none`/`same-origin`, is refused
 * (403 CROSS_ORIGIN_REFUSED), so no web page the developer visits can steer or read it (a
 * cross-site `text/plain` POST needs no preflight); a body must be `application/json` (415
 * UNSUPPORTED_MEDIA_TYPE). Every field is checked against its range and unknown fields are
 * refused (400, with `code`, `field` and the range or the expected values). Every refusal is
 * `{ "error": "<message>", "code": "<CODE>", … }`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EmulatedIncome, EmulatedRedPack, IncomeOverrides } from './data.js';
import { EMULATED_ENDPOINTS, type EmulatedEndpoint } from './endpoints.js';
import { FAULTS, type Fault } from './faults.js';
import { MAX_LIVE_EVERY_MS, MIN_LIVE_EVERY_MS, type LiveScheduleStatus } from './live.js';
import { toPolyvIncome, toPolyvRedPack } from './wire.js';

/**
 * What the control API steers: the running emulator (server.ts's PolyvEmulator implements it).
 * Declared here, so that the server uses the control API and the control API does not need the
 * server: no import circle.
 */
export interface ControlledEmulator {
  readonly calls: readonly { endpoint: EmulatedEndpoint }[];
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly latencyMs: number;
  readonly pendingFaults: number;
  readonly liveSchedules: LiveScheduleStatus[];
  resetCounters(): void;
  clearFaults(): void;
  injectFaults(fault: Fault, count: number, endpoint?: EmulatedEndpoint): void;
  setLatency(ms: number): void;
  insertRedPack(channelId: string): EmulatedRedPack;
  insertReceive(redPackId: string): EmulatedRedPack;
  insertIncome(overrides: IncomeOverrides): EmulatedIncome;
  startLive(channelId: string, everyMs?: number): LiveScheduleStatus;
  stopLive(channelId?: string): LiveScheduleStatus[];
}

/** An answer of the control API. */
export interface ControlReply {
  status: number;
  body: unknown;
}

/**
 * The longest latency: a minute is longer than any client waits (the gateway's deadline is
 * 30 s), and past 2^31 - 1 ms Node's timers would fire at once instead.
 */
export const MAX_LATENCY_MS = 60_000;
/** Most faults one request may queue (each is a queue entry until a call takes it). */
export const MAX_FAULT_COUNT = 100_000;
/** Red pack ids are 32 hex digits; anything much longer is not one. */
const MAX_RED_PACK_ID_LENGTH = 64;

/**
 * Refuses, from its headers alone (before its body is read), a request a browser sent for a
 * page of another origin, or one whose body is not declared JSON. `ownOrigin` is the
 * emulator's URL (`http://127.0.0.1:8900`): it serves no pages, so no browser has a reason to
 * send anything else.
 */
export function refuseControlHeaders(
  headers: IncomingHttpHeaders,
  ownOrigin: string,
): ControlReply | undefined {
  const origin = headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin.toLowerCase()) {
    return refusal(
      403,
      'CROSS_ORIGIN_REFUSED',
      `the control API is for scripts and tests: requests from a browser page (Origin ${origin}) are refused`,
    );
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'none' && site !== 'same-origin') {
    return refusal(
      403,
      'CROSS_ORIGIN_REFUSED',
      `the control API is for scripts and tests: requests from a browser page (Sec-Fetch-Site ${site}) are refused`,
    );
  }
  const contentType = headers['content-type'];
  const hasBody =
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
  if (contentType === undefined ? hasBody : !/^application\/json\s*(;|$)/i.test(contentType)) {
    return refusal(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `a control request's body must be JSON, sent with content-type: application/json (got ${contentType ?? 'none'})`,
    );
  }
  return undefined;
}

/** Serves one control request; `action` is the path after the prefix, `rawBody` the JSON text. */
export function handleControlRequest(
  emulator: ControlledEmulator,
  method: string,
  action: string,
  rawBody: string,
): ControlReply {
  const body = parseJsonObject(rawBody);
  if (body === undefined) return refusal(400, 'INVALID_JSON', 'the body must be a JSON object');
  try {
    return dispatch(emulator, `${method} ${action}`, new Fields(body));
  } catch (error) {
    if (error instanceof FieldError) return error.reply;
    // The emulator's own checks (an unknown channel or red pack, one that cannot be claimed)
    // are the caller's mistake too.
    if (error instanceof RangeError || error instanceof TypeError)
      return refusal(400, 'REFUSED', error.message);
    throw error;
  }
}

/** One action: reads its fields (refusing any left unread) and acts. */
type Action = (emulator: ControlledEmulator, fields: Fields) => ControlReply;

/** Every action, by `METHOD path` (the path after the prefix). */
const ACTIONS = {
  'GET stats': (emulator, fields) => {
    fields.done();
    return ok(stats(emulator));
  },
  'POST reset': (emulator, fields) => {
    fields.done();
    emulator.resetCounters();
    emulator.clearFaults();
    return ok(stats(emulator));
  },
  'POST faults': (emulator, fields) => {
    const fault = fields.oneOf('fault', FAULTS, { required: true });
    const count = fields.integer('count', 1, MAX_FAULT_COUNT) ?? 1;
    const endpoint = fields.oneOf('endpoint', EMULATED_ENDPOINTS);
    fields.done();
    emulator.injectFaults(fault!, count, endpoint);
    return ok({ pendingFaults: emulator.pendingFaults });
  },
  'DELETE faults': (emulator, fields) => {
    fields.done();
    emulator.clearFaults();
    return ok({ pendingFaults: emulator.pendingFaults });
  },
  'POST latency': (emulator, fields) => {
    const ms = fields.number('ms', 0, MAX_LATENCY_MS, { required: true });
    fields.done();
    emulator.setLatency(ms!);
    return ok({ latencyMs: emulator.latencyMs });
  },
  'POST red-packs': (emulator, fields) => {
    const channelId = fields.channelId({ required: true });
    fields.done();
    return { status: 201, body: toPolyvRedPack(emulator.insertRedPack(channelId!)) };
  },
  'POST receives': (emulator, fields) => {
    const redPackId = fields.string('redPackId', MAX_RED_PACK_ID_LENGTH, { required: true });
    fields.done();
    return { status: 201, body: toPolyvRedPack(emulator.insertReceive(redPackId!)) };
  },
  'POST live': (emulator, fields) => {
    const channelId = fields.channelId({ required: true });
    const everyMs = fields.number('everyMs', MIN_LIVE_EVERY_MS, MAX_LIVE_EVERY_MS);
    fields.done();
    emulator.startLive(channelId!, everyMs);
    return ok({ live: emulator.liveSchedules });
  },
  'DELETE live': (emulator, fields) => {
    const channelId = fields.channelId();
    fields.done();
    const stopped = emulator.stopLive(channelId);
    return ok({ stopped, live: emulator.liveSchedules });
  },
  'POST income': (emulator, fields) => {
    const channelId = fields.channelId();
    fields.done();
    const record = emulator.insertIncome(channelId === undefined ? {} : { channelId });
    return { status: 201, body: toPolyvIncome(record) };
  },
} satisfies Record<string, Action>;

/** Every action of the control API, `METHOD path`: `POST red-packs` is POST /__emulator/red-packs. */
export const CONTROL_ACTIONS = Object.keys(ACTIONS) as (keyof typeof ACTIONS)[];

function dispatch(emulator: ControlledEmulator, request: string, fields: Fields): ControlReply {
  const action: Action | undefined = Object.hasOwn(ACTIONS, request)
    ? ACTIONS[request as keyof typeof ACTIONS]
    : undefined;
  if (action === undefined) return refusal(404, 'UNKNOWN_ACTION', `no control action ${request}`);
  return action(emulator, fields);
}

function stats(emulator: ControlledEmulator) {
  // Only the endpoints called: a count of 0 is implied, and the answer reads the same whichever
  // endpoints are declared.
  const callsByEndpoint: Partial<Record<EmulatedEndpoint, number>> = {};
  for (const call of emulator.calls)
    callsByEndpoint[call.endpoint] = (callsByEndpoint[call.endpoint] ?? 0) + 1;
  return {
    totalCalls: emulator.calls.length,
    callsByEndpoint,
    inFlight: emulator.inFlight,
    maxInFlight: emulator.maxInFlight,
    latencyMs: emulator.latencyMs,
    pendingFaults: emulator.pendingFaults,
    live: emulator.liveSchedules,
  };
}

/** A refused field: the reply names it and what it may be. */
class FieldError extends Error {
  constructor(readonly reply: ControlReply) {
    super(String((reply.body as { error: string }).error));
  }
}

/** The body's fields, read one by one with their ranges; `done()` refuses any left unread. */
class Fields {
  readonly #read = new Set<string>();
  constructor(private readonly body: Record<string, unknown>) {}

  #take(field: string, required: boolean, expected: string): unknown {
    this.#read.add(field);
    const value = this.body[field];
    if (value === undefined && required) throw invalid(field, expected, value, true);
    return value;
  }

  /** A finite number from min to max. */
  number(field: string, min: number, max: number, { required = false } = {}): number | undefined {
    const expected = `a number from ${min} to ${max}`;
    const value = this.#take(field, required, expected);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
      throw outOfRange(field, min, max, value, false);
    return value;
  }

  /** A whole number from min to max. */
  integer(field: string, min: number, max: number): number | undefined {
    const value = this.#take(field, false, `an integer from ${min} to ${max}`);
    if (value === undefined) return undefined;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
      throw outOfRange(field, min, max, value, true);
    return value as number;
  }

  oneOf<T extends string>(
    field: string,
    values: readonly T[],
    { required = false } = {},
  ): T | undefined {
    const expected = `one of ${values.join(', ')}`;
    const value = this.#take(field, required, expected);
    if (value === undefined) return undefined;
    const match = values.find((candidate) => candidate === value);
    if (match === undefined) throw invalid(field, expected, value, false);
    return match;
  }

  string(field: string, maxLength: number, { required = false } = {}): string | undefined {
    const expected = `a string of 1 to ${maxLength} characters`;
    const value = this.#take(field, required, expected);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length < 1 || value.length > maxLength)
      throw invalid(field, expected, value, false);
    return value;
  }

  /** `channelId`: a channel number, as a string of digits or a whole number. */
  channelId({ required = false } = {}): string | undefined {
    const expected = 'a channel number (a string of 1 to 20 digits, or a whole number)';
    const value = this.#take('channelId', required, expected);
    if (value === undefined) return undefined;
    const text =
      typeof value === 'string'
        ? value
        : Number.isSafeInteger(value) && (value as number) >= 0
          ? String(value)
          : '';
    if (!/^\d{1,20}$/.test(text)) throw invalid('channelId', expected, value, false);
    return text;
  }

  /** Refuses a field no reader asked for: a misspelt field is a mistake, not a default. */
  done(): void {
    const unknown = Object.keys(this.body).find((field) => !this.#read.has(field));
    if (unknown === undefined) return;
    const known = [...this.#read];
    throw new FieldError(
      refusal(
        400,
        'UNKNOWN_FIELD',
        `unknown field ${unknown}${known.length ? ` (this action takes ${known.join(', ')})` : ' (this action takes no fields)'}`,
        { field: unknown, known },
      ),
    );
  }
}

const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
};

function invalid(field: string, expected: string, value: unknown, missing: boolean): FieldError {
  return new FieldError(
    refusal(
      400,
      'INVALID_FIELD',
      missing
        ? `${field} is required: ${expected}`
        : `${field} must be ${expected}: ${shown(value)}`,
      { field, expected },
    ),
  );
}

function outOfRange(
  field: string,
  min: number,
  max: number,
  value: unknown,
  integer: boolean,
): FieldError {
  return new FieldError(
    refusal(
      400,
      'OUT_OF_RANGE',
      `${field} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}: ${shown(value)}`,
      { field, min, max },
    ),
  );
}

/** An empty body counts as `{}`; anything but a JSON object is undefined. */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return Object.fromEntries(Object.entries(parsed));
}

function ok(body: unknown): ControlReply {
  return { status: 200, body };
}

function refusal(
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): ControlReply {
  return { status, body: { error: message, code, ...details } };
}
