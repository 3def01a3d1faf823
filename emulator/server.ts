/**
 * The Polyv emulator: a real HTTP server (node:http only) answering the two Polyv
 * endpoints the gateway uses, from a seeded in-memory dataset, with injectable faults,
 * latency and a call log so tests can assert how the gateway talks to Polyv.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ENDPOINT_IDS, POLYV_ENDPOINTS, pathParamNames } from '../src/polyv/endpoints.js';
import {
  handleControlRequest,
  MAX_LATENCY_MS,
  refuseControlHeaders,
  type ControlledEmulator,
} from './control.js';
import {
  createDemoDataset,
  findRedPack,
  insertIncome,
  insertReceive,
  insertRedPack,
  latestActivityTime,
  newestRedPackTime,
  type DemoDataset,
  type EmulatedIncome,
  type EmulatedRedPack,
  type IncomeOverrides,
  type ReceiveOverrides,
  type RedPackOverrides,
} from './data.js';
import { handleEndpoint, type EmulatedEndpoint, type EmulatorCredentials } from './endpoints.js';
import { encodeJson } from './wire.js';
import {
  FaultQueue,
  SLOW_FAULT_DELAY_MS,
  writeFaultResponse,
  writeText,
  type Fault,
} from './faults.js';
import {
  DEFAULT_LIVE_EVERY_MS,
  LiveSchedule,
  checkLiveEveryMs,
  type LiveScheduleStatus,
} from './live.js';

/** Credentials of the demo account; public on purpose, they unlock only the emulator. */
export const DEMO_CREDENTIALS: Readonly<EmulatorCredentials> = Object.freeze({
  appId: 'demoappid01',
  appSecret: 'demo-secret-not-for-production',
  userId: 'demo-user-01',
});

/** The emulator's own control API lives under this prefix; its calls are not Polyv calls. */
export const CONTROL_PATH_PREFIX = '/__emulator/';
/** Bodies beyond this are refused; Polyv requests are a few hundred bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1, so nothing is exposed by accident. */
  host?: string;
  /** Delay before every Polyv answer, to make concurrency observable; default 0. */
  latencyMs?: number;
  /** Seed of the demo dataset; default 42. */
  seed?: number;
  /** The account requests must be signed for; default {@link DEMO_CREDENTIALS}. */
  credentials?: EmulatorCredentials;
  /** The clock timestamps are checked against; default Date.now. */
  clock?: () => number;
  /** Add channel 2812699 (BIG_CHANNEL_ID) with this many generated red packs; default 0. */
  bigChannelRedPacks?: number;
  /** Add this many small channels, 2812700 onwards (extraChannelIds); default 0. */
  extraChannels?: number;
  /**
   * The demo data's last day, yyyy-MM-dd in China Standard Time: the same records, shifted by
   * whole days. Default DEFAULT_LAST_DAY (fixed, for tests); demos ask for yesterday.
   */
  lastDay?: string;
}

/** One request to a Polyv endpoint, as the emulator saw it. */
export interface EmulatorCall {
  endpoint: EmulatedEndpoint;
  method: string;
  /** The received parameters, without `sign`. */
  params: Record<string, string>;
  /** Emulator clock time of the answer (or of the fault). */
  at: number;
  /** 'ok', Polyv's error text (e.g. 'invalid signature.'), or 'fault:<kind>'. */
  outcome: string;
}

/** A Polyv endpoint a request's path names, and the path's parameters. */
interface PolyvRoute {
  endpoint: EmulatedEndpoint;
  method: 'GET' | 'POST';
  path: Record<string, string>;
}

/** Each declared endpoint's path as a pattern: `{name}` matches one path segment. */
const ROUTES = ENDPOINT_IDS.map((endpoint) => {
  const { path, method } = POLYV_ENDPOINTS[endpoint];
  const pattern = path
    .split(/\{\w+\}/)
    .map((literal) => literal.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('([^/]+)');
  return { endpoint, method, names: pathParamNames(path), pattern: new RegExp(`^${pattern}$`) };
});

interface ResolvedOptions {
  port: number;
  host: string;
  latencyMs: number;
  seed: number;
  credentials: EmulatorCredentials;
  clock: () => number;
  bigChannelRedPacks: number;
  extraChannels: number;
  lastDay: string | undefined;
}

/** Starts an emulator and resolves once it is listening. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<PolyvEmulator> {
  return PolyvEmulator.start(options);
}

/** A running emulator; create it with {@link startEmulator} and always `close()` it. */
export class PolyvEmulator implements ControlledEmulator {
  readonly credentials: EmulatorCredentials;
  /** The live dataset: tests read it to compute expected answers independently. */
  readonly store: DemoDataset;
  /** Every Polyv call since the last reset, oldest first. */
  readonly calls: EmulatorCall[] = [];

  readonly #server: Server;
  readonly #clock: () => number;
  readonly #faults = new FaultQueue();
  /** Set by close(): nothing new waits, and every pending pause is cancelled. */
  #closing = false;
  /**
   * Cancels each response still pausing (latency, `timeout` fault). One entry per paused
   * response, removed when its pause ends: a shared AbortSignal would collect an abort listener
   * per response in flight and warn past ten.
   */
  readonly #pauses = new Set<() => void>();
  /** Live activity by channel: at most one schedule each. */
  readonly #live = new Map<string, LiveSchedule>();
  #url = '';
  #latencyMs: number;
  #inFlight = 0;
  #maxInFlight = 0;
  #requestCount = 0;
  #closed: Promise<void> | undefined;

  /** Validates the options, then listens. */
  static async start(options: EmulatorOptions = {}): Promise<PolyvEmulator> {
    const resolved = resolveOptions(options);
    const emulator = new PolyvEmulator(resolved);
    await emulator.#listen(resolved.port, resolved.host);
    return emulator;
  }

  private constructor(options: ResolvedOptions) {
    this.credentials = { ...options.credentials };
    this.store = createDemoDataset(options.seed, options.credentials.userId, {
      bigChannelRedPacks: options.bigChannelRedPacks,
      extraChannels: options.extraChannels,
      lastDay: options.lastDay,
    });
    this.#clock = options.clock;
    this.#latencyMs = options.latencyMs;
    this.#server = createServer((req, res) => this.#onRequest(req, res));
  }

  /** Base URL, e.g. http://127.0.0.1:8900; Polyv paths are appended to it. */
  get url(): string {
    return this.#url;
  }

  /** Where the control API is, e.g. http://127.0.0.1:8900/__emulator/; actions are appended. */
  get controlUrl(): string {
    return `${this.#url}${CONTROL_PATH_PREFIX}`;
  }

  /** Polyv requests being served right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The most Polyv requests served at once since the last reset. */
  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }

  /** Injected faults not yet consumed. */
  get pendingFaults(): number {
    return this.#faults.pending;
  }

  /** Forgets recorded calls and restarts the concurrency high-water mark. */
  resetCounters(): void {
    this.calls.length = 0;
    this.#maxInFlight = this.#inFlight;
  }

  /** Sets the delay before every Polyv answer. */
  setLatency(ms: number): void {
    this.#latencyMs = checkLatency(ms);
  }

  /** Makes the next `count` calls (to `endpoint`, or to any endpoint) fail with `fault`. */
  injectFaults(fault: Fault, count = 1, endpoint?: EmulatedEndpoint): void {
    this.#faults.add(fault, count, endpoint);
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Adds a red pack at the head of a channel and returns it; see data.ts. It is stamped with the
   * emulator clock, as a red pack sent now is, or a millisecond after the newest red pack when
   * the clock is not past it (the demo data is ahead, or two come in the same millisecond), so
   * red packs stay in order and never run ahead of the clock by more than a burst of inserts.
   */
  insertRedPack(channelId: string, overrides: RedPackOverrides = {}): EmulatedRedPack {
    const createdTime =
      overrides.createdTime ?? Math.max(this.#clock(), newestRedPackTime(this.store) + 1);
    return insertRedPack(this.store, channelId, { ...overrides, createdTime });
  }

  /**
   * Adds a claim to a red pack in progress and returns the red pack; see data.ts. The claim
   * is stamped with the emulator clock, or with the pack's latest activity when the clock is
   * behind the demo data, so claims stay in order.
   */
  insertReceive(redPackId: string, overrides: ReceiveOverrides = {}): EmulatedRedPack {
    const pack = findRedPack(this.store, redPackId);
    const createdTime =
      overrides.createdTime ??
      (pack === undefined ? undefined : Math.max(this.#clock(), latestActivityTime(pack)));
    return insertReceive(this.store, redPackId, { ...overrides, createdTime });
  }

  /**
   * Starts live activity on a channel (see live.ts): every `everyMs`, a new red pack or a
   * claim. A channel already live is restarted with the new interval.
   */
  startLive(channelId: string, everyMs: number = DEFAULT_LIVE_EVERY_MS): LiveScheduleStatus {
    if (this.#closing) throw new Error('emulator closed');
    if (!this.store.redPacks.has(channelId)) {
      throw new RangeError(`startLive: ${channelId} is not a channel of the demo account`);
    }
    checkLiveEveryMs(everyMs);
    this.#live.get(channelId)?.stop();
    const schedule = new LiveSchedule(this, channelId, everyMs);
    this.#live.set(channelId, schedule);
    return schedule.status;
  }

  /**
   * Stops live activity on one channel, or on every channel when none is named, and returns
   * what each stopped schedule did (final counts: no tick can follow).
   */
  stopLive(channelId?: string): LiveScheduleStatus[] {
    const stopped: LiveScheduleStatus[] = [];
    for (const [id, schedule] of this.#live) {
      if (channelId !== undefined && id !== channelId) continue;
      schedule.stop();
      this.#live.delete(id);
      stopped.push(schedule.status);
    }
    return stopped;
  }

  /** The running live schedules, with what each has done so far. */
  get liveSchedules(): LiveScheduleStatus[] {
    return [...this.#live.values()].map((schedule) => schedule.status);
  }

  /** Adds an income record at the head; see data.ts. */
  insertIncome(overrides?: IncomeOverrides): EmulatedIncome {
    return insertIncome(this.store, overrides);
  }

  /**
   * Stops listening and drops every connection, keep-alive and held ones included, so
   * neither a `timeout` fault nor a pooled client socket keeps the process alive.
   */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve, reject) => {
      this.#closing = true;
      this.stopLive();
      for (const cancel of this.#pauses) cancel();
      this.#server.close((error) => (error === undefined ? resolve() : reject(error)));
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string') {
      throw new Error(`emulator: unexpected listening address ${String(address)}`);
    }
    // IPv6 literals need brackets in a URL.
    const urlHost = host.includes(':') ? `[${host}]` : host;
    this.#url = `http://${urlHost}:${address.port}`;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.#route(req, res).catch((error: unknown) => {
      if (error instanceof PayloadTooLargeError) {
        sendJson(res, 413, { code: 413, status: 'error', message: error.message });
      } else if (this.#closing || res.headersSent) {
        // Shutting down, or already mid-answer: there is nothing sensible left to send.
        res.destroy();
      } else {
        console.error('polyv emulator: unexpected error', error);
        sendJson(res, 500, { code: 500, status: 'error', message: 'emulator error' });
      }
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const method = req.method ?? 'GET';

    if (url.pathname.startsWith(CONTROL_PATH_PREFIX)) {
      // From the headers alone: a refused request's body is never read (node discards it).
      const refused = refuseControlHeaders(req.headers, this.#url);
      if (refused) return sendJson(res, refused.status, refused.body);
      const body = await readBody(req);
      const reply = handleControlRequest(
        this,
        method,
        url.pathname.slice(CONTROL_PATH_PREFIX.length),
        body,
      );
      return sendJson(res, reply.status, reply.body);
    }

    const route = matchPolyvRoute(url.pathname);
    if (route === undefined) {
      return sendJson(res, 404, { code: 404, status: 'error', message: 'not found' });
    }
    if (method !== route.method) {
      res.setHeader('Allow', route.method);
      return sendJson(res, 405, { code: 405, status: 'error', message: 'method not allowed' });
    }
    await this.#servePolyv(route, method, url, req, res);
  }

  async #servePolyv(
    route: PolyvRoute,
    method: string,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    // 'close' fires however the exchange ends: answered, reset, or abandoned by the client.
    res.once('close', () => {
      this.#inFlight -= 1;
    });

    // A GET reads its query string; a POST, its form body only.
    const params =
      route.method === 'GET' ? firstValues(url.searchParams) : formParams(req, await readBody(req));
    await this.#pause(this.#latencyMs);
    const requestId = this.#nextRequestId();

    const fault = this.#faults.take(route.endpoint);
    if (fault !== undefined) this.#record(route.endpoint, method, params, `fault:${fault}`);
    switch (fault) {
      case undefined:
        break;
      case 'slow':
        await this.#pause(SLOW_FAULT_DELAY_MS);
        break;
      case 'timeout':
        // Hold the request unanswered; the client giving up or close() releases it.
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      default:
        return writeFaultResponse(fault, route.endpoint, requestId, res);
    }

    const context = {
      store: this.store,
      credentials: this.credentials,
      now: this.#clock(),
      requestId,
    };
    const reply = handleEndpoint(route.endpoint, { params, path: route.path, context });
    if (fault === undefined) this.#record(route.endpoint, method, params, reply.outcome);
    writeText(res, reply.status, JSON_TYPE, encodeJson(reply.body, reply.records));
  }

  #record(
    endpoint: EmulatedEndpoint,
    method: string,
    params: Record<string, string>,
    outcome: string,
  ): void {
    const unsigned = Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'sign'));
    this.calls.push({ endpoint, method, params: unsigned, at: this.#clock(), outcome });
  }

  /** Looks like Polyv's per-request UUIDs but is a counter, so runs are reproducible. */
  #nextRequestId(): string {
    this.#requestCount += 1;
    return createHash('md5').update(`polyv-emulator:${this.#requestCount}`).digest('hex');
  }

  async #pause(ms: number): Promise<void> {
    if (ms <= 0) return;
    if (this.#closing) throw new Error('emulator closing');
    await new Promise<void>((resolve, reject) => {
      const cancel = () => {
        clearTimeout(timer);
        this.#pauses.delete(cancel);
        reject(new Error('emulator closing'));
      };
      const timer = setTimeout(() => {
        this.#pauses.delete(cancel);
        resolve();
      }, ms);
      this.#pauses.add(cancel);
    });
  }
}

class PayloadTooLargeError extends Error {
  constructor() {
    super(`request body exceeds ${MAX_BODY_BYTES} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

function resolveOptions(options: EmulatorOptions): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535: ${port}`);
  }
  const seed = options.seed ?? 42;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer: ${seed}`);
  const bigChannelRedPacks = options.bigChannelRedPacks ?? 0;
  if (!Number.isSafeInteger(bigChannelRedPacks) || bigChannelRedPacks < 0) {
    throw new RangeError(
      `bigChannelRedPacks must be a non-negative integer: ${bigChannelRedPacks}`,
    );
  }
  const extraChannels = options.extraChannels ?? 0;
  if (!Number.isSafeInteger(extraChannels) || extraChannels < 0 || extraChannels > 99) {
    throw new RangeError(`extraChannels must be an integer from 0 to 99: ${extraChannels}`);
  }
  return {
    port,
    host: options.host ?? '127.0.0.1',
    latencyMs: checkLatency(options.latencyMs ?? 0),
    seed,
    credentials: options.credentials ?? DEMO_CREDENTIALS,
    clock: options.clock ?? Date.now,
    bigChannelRedPacks,
    extraChannels,
    lastDay: options.lastDay,
  };
}

function checkLatency(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_LATENCY_MS)
    throw new RangeError(`latency must be a number of ms from 0 to ${MAX_LATENCY_MS}: ${ms}`);
  return ms;
}

function matchPolyvRoute(pathname: string): PolyvRoute | undefined {
  for (const { endpoint, method, names, pattern } of ROUTES) {
    const match = pattern.exec(pathname);
    if (match === null) continue;
    const path = Object.fromEntries(
      names.map((name, index) => [name, decodePathSegment(match[index + 1] ?? '')]),
    );
    return { endpoint, method, path };
  }
  return undefined;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // Malformed escapes cannot name the account anyway.
  }
}

/** Parameters by name; a repeated name keeps its first value, as servlet containers do. */
function firstValues(search: URLSearchParams): Record<string, string> {
  const values = new Map<string, string>();
  for (const [key, value] of search) if (!values.has(key)) values.set(key, value);
  // fromEntries defines own properties, so even a key named __proto__ stays plain data.
  return Object.fromEntries(values);
}

/** A form body's parameters; any other body has none. */
function formParams(req: IncomingMessage, body: string): Record<string, string> {
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  return contentType.startsWith('application/x-www-form-urlencoded')
    ? firstValues(new URLSearchParams(body))
    : {};
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLargeError());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const JSON_TYPE = 'application/json;charset=UTF-8';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  writeText(res, status, JSON_TYPE, encodeJson(body));
}
