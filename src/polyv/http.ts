/**
 * The one signed Polyv fetcher. Every upstream call goes through `PolyvHttpClient.call`:
 * a fresh timestamp and signature per attempt, each attempt through the PolyvGuard
 * (breaker, QPS back-off, concurrency, token bucket), retries with jittered exponential
 * backoff for transient faults only, all within the request's deadline, and both of Polyv's
 * envelopes turned into data or a typed PolyvError.
 */
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import got, { RequestError, type Got } from 'got';
import type { z } from 'zod';
import {
  PolyvApiError,
  PolyvError,
  PolyvMalformedResponseError,
  PolyvRateLimitedError,
  PolyvUnavailableError,
  PolyvCallRefusedError,
  type PolyvErrorDetails,
} from './errors.js';
import { v2Envelope, v4Envelope, type EndpointId, type Envelope } from './endpoints.js';
import type { PolyvGuard } from './guard.js';
import { signedParams, type ParamValue } from './sign.js';
import { readWire } from './wireCheck.js';

export interface PolyvClientOptions {
  baseUrl: string;
  appId: string;
  appSecret: string;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Retries after the first attempt, for retryable faults only. */
  retries: number;
  /** Protection shared by every call of this process. */
  guard: PolyvGuard;
  /** Keep-alive sockets per origin. */
  maxSockets: number;
  /** Told about every attempt (logs, metrics); never about the secret or the signature. */
  observe?: (attempt: AttemptEvent) => void;
  /** First backoff step; later steps double, each one drawn at random below it ("full jitter"). */
  backoffBaseMs?: number;
  /** Largest backoff step. */
  backoffCapMs?: number;
}

/** One upstream call, described independently of signing and transport. */
export interface PolyvRequest<T> {
  /** The declared endpoint (endpoints.ts): names the call in errors, metrics, logs and spans. */
  endpoint: EndpointId;
  method: 'GET' | 'POST';
  /** Path below the base URL, e.g. `/live/v4/channel/red-pack/statistics/list`. */
  path: string;
  /** Business parameters; the page, appId, timestamp and sign are added per attempt. */
  params: Record<string, ParamValue>;
  /** The page asked for, when the endpoint pages. */
  page?: PolyvPageRequest;
  /** Which of Polyv's two response envelopes this endpoint answers in. */
  envelope: Envelope;
  /** Shape of `data` on success. */
  data: z.ZodType<T>;
}

/**
 * A page of a list. Polyv names its page-number parameter `pageNumber` on v4 endpoints and
 * `page` on v2 ones; the endpoint says which, so nothing downstream has to guess.
 */
export interface PolyvPageRequest {
  number: number;
  size: number;
  numberParam: 'pageNumber' | 'page';
}

/** The parameters Polyv receives for the request, before signing: its own and its page's. */
export function wireParams(request: PolyvRequest<unknown>): Record<string, ParamValue> {
  const { page } = request;
  return page
    ? { ...request.params, [page.numberParam]: page.number, pageSize: page.size }
    : request.params;
}

/** One attempt at one call, as observers see it. */
export interface AttemptEvent {
  endpoint: EndpointId;
  /** The page asked for, when the endpoint pages. */
  page: number | undefined;
  /** 1 for the first attempt. */
  attempt: number;
  durationMs: number;
  /** `ok`, or why it failed: the UNAVAILABLE reason, else the error code. */
  outcome: string;
  /** Whether the gateway held the call back (circuit, queue, deadline) rather than Polyv failing it. */
  refused: boolean;
  /** When the upstream token was granted, on the rate limit's clock (ms); absent when refused. */
  grantedAt: number | undefined;
  /** Another attempt follows. */
  retrying: boolean;
  requestId: string | undefined;
}

/** Per-call options. */
export interface CallOptions {
  /** Epoch ms by which the whole call, retries included, must be done. */
  deadline?: number;
  /** On whose behalf (API key name or client address): calls wait for a turn per client. */
  client?: string;
}

export interface PolyvResponse<T> {
  data: T;
  requestId: string | undefined;
}

/** Polyv reports its QPS limit only in the message text, in either envelope. */
const QPS_EXCEEDED = /qps exceed/i;
/** Polyv's "channel not found." names no channel; the call's own `channelId` does. */
const CHANNEL_NOT_FOUND = /channel not found/i;

export class PolyvHttpClient {
  private readonly http: Got;
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(private readonly options: PolyvClientOptions) {
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: options.maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets: options.maxSockets }),
    };
    this.http = got.extend({
      prefixUrl: options.baseUrl,
      agent: this.agents,
      // Retries are ours (below): Polyv signals some transient faults inside HTTP 200 bodies,
      // and every attempt needs a new timestamp and signature.
      retry: { limit: 0 },
      throwHttpErrors: false,
      responseType: 'text',
      headers: { 'user-agent': 'polyv-graphql', accept: 'application/json' },
    });
  }

  /** Calls Polyv, retrying transient faults; resolves with `data` or rejects with a PolyvError. */
  async call<T>(request: PolyvRequest<T>, options: CallOptions = {}): Promise<PolyvResponse<T>> {
    const deadline =
      options.deadline ?? Date.now() + this.options.timeoutMs * (this.options.retries + 1);
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let grantedAt: number | undefined;
      const report = (outcome: string, refused: boolean, retrying: boolean, requestId?: string) =>
        this.options.observe?.({
          endpoint: request.endpoint,
          page: request.page?.number,
          attempt,
          durationMs: performance.now() - started,
          outcome,
          refused,
          grantedAt,
          retrying,
          requestId,
        });
      try {
        const response = await this.options.guard.run(
          request.endpoint,
          (granted) => {
            grantedAt = granted;
            return this.attempt(request, deadline);
          },
          deadline,
          options.client,
        );
        report('ok', false, false, response.requestId);
        return response;
      } catch (error) {
        const failure = error instanceof PolyvError ? error : this.unexpected(request, error);
        failure.attempts = attempt;
        const pause = this.backoffMs(attempt, failure);
        // A retry that cannot finish before the deadline is not worth starting.
        const retrying =
          failure.retryable && attempt <= this.options.retries && Date.now() + pause < deadline;
        report(
          failure.reason ?? 'UPSTREAM_ERROR',
          failure instanceof PolyvCallRefusedError,
          retrying,
          failure.requestId,
        );
        if (!retrying) throw failure;
        await sleep(pause);
      }
    }
  }

  /** Closes pooled keep-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async attempt<T>(request: PolyvRequest<T>, deadline: number): Promise<PolyvResponse<T>> {
    const { appId, appSecret } = this.options;
    const params = signedParams(wireParams(request), { appId, appSecret });
    const path = request.path.replace(/^\//, '');
    const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs, deadline - Date.now()));
    let response;
    try {
      response =
        request.method === 'GET'
          ? await this.http.get(path, { searchParams: params, timeout: { request: timeoutMs } })
          : await this.http.post(path, { form: params, timeout: { request: timeoutMs } });
    } catch (error) {
      throw this.transportFailure(request, error, timeoutMs);
    }
    const status = response.statusCode;
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      const details = { endpoint: request.endpoint, httpStatus: status };
      // An HTML error page from a proxy in front of Polyv is a 5xx: transient.
      if (status >= 500) {
        throw new PolyvUnavailableError(`Polyv answered HTTP ${status} without a JSON body`, {
          ...details,
          reason: 'HTTP_5XX',
        });
      }
      throw new PolyvMalformedResponseError(
        `Polyv answered HTTP ${status} with a body that is not JSON (${describeBody(response.body)})`,
        { ...details, reason: 'MALFORMED' },
      );
    }
    return request.envelope === 'v4'
      ? this.readV4(request, status, body)
      : this.readV2(request, status, body);
  }

  private readV4<T>(request: PolyvRequest<T>, httpStatus: number, body: unknown): PolyvResponse<T> {
    const envelope = v4Envelope.safeParse(body);
    if (!envelope.success) throw this.malformed(request, httpStatus, 'an unrecognised envelope');
    const { code, success, requestId, error, data } = envelope.data;
    if (code !== 200 || success === false || error) {
      throw this.apiError(request, {
        httpStatus,
        requestId,
        polyvCode: error?.code ?? code,
        polyvMessage: error?.desc || envelope.data.status || `code ${code}`,
      });
    }
    return { data: this.readData(request, httpStatus, data, requestId), requestId };
  }

  private readV2<T>(request: PolyvRequest<T>, httpStatus: number, body: unknown): PolyvResponse<T> {
    const envelope = v2Envelope.safeParse(body);
    if (!envelope.success) throw this.malformed(request, httpStatus, 'an unrecognised envelope');
    const { code, message, status, data } = envelope.data;
    if (code !== 200) {
      throw this.apiError(request, {
        httpStatus,
        polyvCode: code,
        polyvMessage: message || status || `code ${code}`,
      });
    }
    return { data: this.readData(request, httpStatus, data, undefined), requestId: undefined };
  }

  private readData<T>(
    request: PolyvRequest<T>,
    httpStatus: number,
    data: unknown,
    requestId?: string,
  ): T {
    const parsed = readWire(request.data, data);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || 'data'}: ${issue.message}` : 'data';
    throw this.malformed(request, httpStatus, `unexpected data (${where})`, requestId);
  }

  private apiError(
    request: PolyvRequest<unknown>,
    details: Omit<PolyvErrorDetails, 'endpoint'> & { polyvMessage: string },
  ): PolyvError {
    const full = { endpoint: request.endpoint, ...details };
    if (QPS_EXCEEDED.test(details.polyvMessage)) {
      return new PolyvRateLimitedError(`Polyv's rate limit was exceeded: ${details.polyvMessage}`, {
        ...full,
        reason: 'POLYV_RATE_LIMIT',
      });
    }
    // A 5xx with a Polyv envelope is still Polyv being unwell, not an answer about our request.
    if (details.httpStatus !== undefined && details.httpStatus >= 500) {
      return new PolyvUnavailableError(
        `Polyv failed (HTTP ${details.httpStatus}): ${details.polyvMessage}`,
        {
          ...full,
          reason: 'HTTP_5XX',
        },
      );
    }
    const channelId = request.params.channelId;
    if (
      CHANNEL_NOT_FOUND.test(details.polyvMessage) &&
      channelId !== undefined &&
      channelId !== null
    )
      return new PolyvApiError(
        `Polyv has no channel "${channelId}" in this account: check the channel number (Polyv said "${details.polyvMessage}").`,
        full,
      );
    return new PolyvApiError(`Polyv refused the request: ${details.polyvMessage}`, full);
  }

  private malformed(
    request: PolyvRequest<unknown>,
    httpStatus: number,
    what: string,
    requestId?: string,
  ) {
    return new PolyvMalformedResponseError(`Polyv answered HTTP ${httpStatus} with ${what}`, {
      endpoint: request.endpoint,
      httpStatus,
      requestId,
      reason: 'MALFORMED',
    });
  }

  private transportFailure(
    request: PolyvRequest<unknown>,
    error: unknown,
    timeoutMs: number,
  ): PolyvError {
    // got's errors hold the request options (and so the signed URL): keep only code and kind.
    const code = error instanceof RequestError ? error.code : 'UNKNOWN';
    const timedOut = code === 'ETIMEDOUT';
    const kind = timedOut ? `timed out after ${timeoutMs} ms` : `failed (${code})`;
    return new PolyvUnavailableError(`The request to Polyv ${kind}`, {
      endpoint: request.endpoint,
      reason: timedOut ? 'TIMEOUT' : 'NETWORK',
      cause: Object.assign(new Error(code), { code }),
    });
  }

  private unexpected(request: PolyvRequest<unknown>, error: unknown): PolyvError {
    const name = error instanceof Error ? error.name : typeof error;
    return new PolyvUnavailableError(`The request to Polyv failed unexpectedly (${name})`, {
      endpoint: request.endpoint,
      reason: 'NETWORK',
    });
  }

  private backoffMs(attempt: number, failure: PolyvError): number {
    const base = this.options.backoffBaseMs ?? 200;
    const cap = this.options.backoffCapMs ?? 5_000;
    // Polyv's QPS limit blocks the caller's IP: step back harder than for a lost packet.
    const step = Math.min(
      cap,
      base * 2 ** (attempt - 1) * (failure instanceof PolyvRateLimitedError ? 5 : 1),
    );
    return Math.random() * step;
  }
}

/** A short, safe description of a body we could not parse (no content echoed). */
function describeBody(body: string): string {
  if (body.trim() === '') return 'empty';
  if (/^\s*</.test(body)) return 'looks like HTML';
  return `${body.length} bytes`;
}
