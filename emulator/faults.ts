/**
 * Injected failures: the ways Polyv, or the proxies in front of it, misbehave. A FIFO
 * queue decides which call gets which fault; the answering faults are written here.
 */
import type { ServerResponse } from 'node:http';
import { POLYV_ENDPOINTS } from '../src/polyv/endpoints.js';
import type { EmulatedEndpoint } from './endpoints.js';
import { ENVELOPES } from './wire.js';

/** Every fault the emulator can inject. */
export const FAULTS = [
  'http500',
  'http502',
  'http503',
  'timeout',
  'reset',
  'malformedJson',
  'html',
  'html200',
  'qps',
  'slow',
] as const;

/**
 * - `http500`/`http502`/`http503`: that status with a plain-text body, no JSON.
 * - `timeout`: the request is accepted and never answered.
 * - `reset`: the connection is reset without an answer.
 * - `malformedJson`: HTTP 200 with a truncated JSON body.
 * - `html`: HTTP 502 with nginx's HTML error page.
 * - `html200`: HTTP 200 with an HTML page (a captive portal or maintenance page).
 * - `qps`: Polyv's rate-limit error in the endpoint's envelope.
 * - `slow`: the correct answer, 2,000 ms late.
 */
export type Fault = (typeof FAULTS)[number];

/** The faults that are answered with a response (the others hold, reset or delay). */
export type AnsweringFault = Exclude<Fault, 'timeout' | 'reset' | 'slow'>;

/** How much later than usual a `slow` fault answers. */
export const SLOW_FAULT_DELAY_MS = 2000;

/** Narrows an untrusted value (e.g. from the control API) to a fault name. */
export function isFault(value: unknown): value is Fault {
  return FAULTS.some((fault) => fault === value);
}

interface QueuedFault {
  fault: Fault;
  /** Only calls to this endpoint take it; any call does when undefined. */
  endpoint: EmulatedEndpoint | undefined;
}

/** Faults waiting for calls, consumed first in, first out by the calls they match. */
export class FaultQueue {
  #queue: QueuedFault[] = [];

  /** Queues `count` copies of a fault. */
  add(fault: Fault, count: number, endpoint?: EmulatedEndpoint): void {
    if (!isFault(fault))
      throw new TypeError(`fault must be one of ${FAULTS.join(', ')}: ${String(fault)}`);
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`fault count must be a positive integer: ${count}`);
    }
    for (let i = 0; i < count; i += 1) this.#queue.push({ fault, endpoint });
  }

  /** Removes and returns the oldest fault this call matches, if any. */
  take(endpoint: EmulatedEndpoint): Fault | undefined {
    const index = this.#queue.findIndex(
      (queued) => queued.endpoint === undefined || queued.endpoint === endpoint,
    );
    return index < 0 ? undefined : this.#queue.splice(index, 1)[0]?.fault;
  }

  clear(): void {
    this.#queue = [];
  }

  get pending(): number {
    return this.#queue.length;
  }
}

const NGINX_502_PAGE =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n' +
  '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

const MAINTENANCE_PAGE =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>系统维护中</title></head>' +
  '<body><h1>系统维护中</h1><p>服务暂时不可用，请稍后再试。</p></body></html>';

/** Writes the response of an answering fault. */
export function writeFaultResponse(
  fault: AnsweringFault,
  endpoint: EmulatedEndpoint,
  requestId: string,
  res: ServerResponse,
): void {
  switch (fault) {
    case 'http500':
      return writeText(res, 500, 'text/plain', 'Internal Server Error');
    case 'http502':
      return writeText(res, 502, 'text/plain', 'Bad Gateway');
    case 'http503':
      return writeText(res, 503, 'text/plain', 'Service Temporarily Unavailable');
    case 'malformedJson':
      // A body cut off mid-object, as when an upstream dies while streaming.
      return writeText(
        res,
        200,
        'application/json;charset=UTF-8',
        '{"code":200,"status":"success","data":{"pageNumber":1,"contents":[{"amou',
      );
    case 'html':
      return writeText(res, 502, 'text/html', NGINX_502_PAGE);
    case 'html200':
      return writeText(res, 200, 'text/html;charset=UTF-8', MAINTENANCE_PAGE);
    case 'qps': {
      const reply = ENVELOPES[POLYV_ENDPOINTS[endpoint].envelope].error('qps', requestId);
      return writeText(
        res,
        reply.status,
        'application/json;charset=UTF-8',
        JSON.stringify(reply.body),
      );
    }
    default:
      return assertNever(fault);
  }
}

/**
 * Writes a complete response with an exact Content-Length: a text, or the bytes of its pieces
 * in order (sent in one write, uncopied). A text is encoded once, here: a string handed to the
 * socket would be scanned for its length and then encoded again.
 */
export function writeText(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | readonly Buffer[],
): void {
  const pieces = typeof body === 'string' ? [Buffer.from(body, 'utf8')] : body;
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': pieces.reduce((length, piece) => length + piece.length, 0),
  });
  res.cork();
  for (const piece of pieces) res.write(piece);
  res.end();
  res.uncork();
}

function assertNever(value: never): never {
  throw new Error(`unhandled fault: ${String(value)}`);
}
