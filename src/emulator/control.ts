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
 */
import { isFault } from './faults.js';
import { EMULATED_ENDPOINTS, type EmulatedEndpoint } from './endpoints.js';
import type { PolyvEmulator } from './server.js';
import { toPolyvIncome, toPolyvRedPack } from './wire.js';

/** An answer of the control API. */
export interface ControlReply {
  status: number;
  body: unknown;
}

/** Serves one control request; `action` is the path after the prefix, `rawBody` the JSON text. */
export function handleControlRequest(
  emulator: PolyvEmulator,
  method: string,
  action: string,
  rawBody: string,
): ControlReply {
  const body = parseJsonObject(rawBody);
  if (body === undefined) return badRequest('the body must be a JSON object');
  try {
    return dispatch(emulator, `${method} ${action}`, body);
  } catch (error) {
    // The emulator's own validation (e.g. an unknown channel) is the caller's mistake.
    if (error instanceof RangeError || error instanceof TypeError) return badRequest(error.message);
    throw error;
  }
}

function dispatch(
  emulator: PolyvEmulator,
  request: string,
  body: Record<string, unknown>,
): ControlReply {
  switch (request) {
    case 'GET stats':
      return ok(stats(emulator));
    case 'POST reset':
      emulator.resetCounters();
      emulator.clearFaults();
      return ok(stats(emulator));
    case 'POST faults': {
      const { fault, count = 1, endpoint } = body;
      if (!isFault(fault)) return badRequest(`unknown fault: ${String(fault)}`);
      if (typeof count !== 'number') return badRequest('count must be a number');
      if (endpoint !== undefined && !isEmulatedEndpoint(endpoint)) {
        return badRequest(`endpoint must be one of ${EMULATED_ENDPOINTS.join(', ')}`);
      }
      emulator.injectFaults(fault, count, endpoint);
      return ok({ pendingFaults: emulator.pendingFaults });
    }
    case 'DELETE faults':
      emulator.clearFaults();
      return ok({ pendingFaults: emulator.pendingFaults });
    case 'POST latency': {
      if (typeof body['ms'] !== 'number') return badRequest('ms must be a number');
      emulator.setLatency(body['ms']);
      return ok({ latencyMs: emulator.latencyMs });
    }
    case 'POST red-packs': {
      const channelId = body['channelId'];
      if (typeof channelId !== 'string' && typeof channelId !== 'number') {
        return badRequest('channelId is required');
      }
      return { status: 201, body: toPolyvRedPack(emulator.insertRedPack(String(channelId))) };
    }
    case 'POST receives': {
      const redPackId = body['redPackId'];
      if (typeof redPackId !== 'string') return badRequest('redPackId is required');
      return { status: 201, body: toPolyvRedPack(emulator.insertReceive(redPackId)) };
    }
    case 'POST live': {
      const { channelId, everyMs } = body;
      if (typeof channelId !== 'string' && typeof channelId !== 'number') {
        return badRequest('channelId is required');
      }
      if (everyMs !== undefined && typeof everyMs !== 'number') {
        return badRequest('everyMs must be a number');
      }
      emulator.startLive(String(channelId), everyMs);
      return ok({ live: emulator.liveSchedules });
    }
    case 'DELETE live': {
      const channelId = optionalChannelId(body);
      if (channelId === null) return badRequest('channelId must be a string');
      const stopped = emulator.stopLive(channelId);
      return ok({ stopped, live: emulator.liveSchedules });
    }
    case 'POST income': {
      const channelId = optionalChannelId(body);
      if (channelId === null) return badRequest('channelId must be a string');
      const record = emulator.insertIncome(channelId === undefined ? {} : { channelId });
      return { status: 201, body: toPolyvIncome(record) };
    }
    default:
      return { status: 404, body: { error: `no control action ${request}` } };
  }
}

function stats(emulator: PolyvEmulator) {
  const callsByEndpoint: Record<EmulatedEndpoint, number> = {
    redPackStatistics: 0,
    incomeDetail: 0,
  };
  for (const call of emulator.calls) callsByEndpoint[call.endpoint] += 1;
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

function isEmulatedEndpoint(value: unknown): value is EmulatedEndpoint {
  return EMULATED_ENDPOINTS.some((endpoint) => endpoint === value);
}

/** The body's optional `channelId` as a string (a number is taken too); null when it is neither. */
function optionalChannelId(body: Record<string, unknown>): string | undefined | null {
  const channelId = body['channelId'];
  if (channelId === undefined) return undefined;
  return typeof channelId === 'string' || typeof channelId === 'number' ? String(channelId) : null;
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

function badRequest(message: string): ControlReply {
  return { status: 400, body: { error: message } };
}
