/**
 * What live updates cost: idle subscribers (WebSocket, graphql-ws) spread over ten followed
 * channels, against the same topics with one subscriber each, measured in the same run. Polyv
 * must see the same calls whatever the number of subscribers (one poll per topic per
 * interval), and the gateway's memory must grow by a bounded amount per subscriber.
 */
import { createClient, type Client } from 'graphql-ws';
import got from 'got';
import WebSocket from 'ws';
import { DEMO_CHANNELS, extraChannelIds } from '../emulator/index.js';
import {
  HEAP_PROBE,
  heapAfterGcMb,
  peakRssMb,
  rssMb,
  startGatewayProcess,
  stop,
  type Started,
} from './processes.js';

export interface LiveCost {
  topics: number;
  subscribers: number;
  callsPerMinute: number;
  baselineCallsPerMinute: number;
  idleRssMb: number;
  /** Heap after a full GC with one subscriber per topic (every topic polled, its totals kept). */
  baselineHeapMb: number;
  /** Heap after a full GC with every subscriber. */
  subscribedHeapMb: number;
  subscribedRssMb: number;
  peakRssMb: number;
  pollMs: number;
}

/** Extra channels the bench's emulator adds (`--extra-channels`), beside the five demo ones. */
export const LIVE_EXTRA_CHANNELS = 5;

/** Ten channels, each followed whole: the demo channels and the emulator's extra ones. */
export const LIVE_TOPICS: { channelId: string; sessionId?: string | undefined }[] = [
  ...DEMO_CHANNELS.map((channel) => channel.channelId),
  ...extraChannelIds(LIVE_EXTRA_CHANNELS),
].map((channelId) => ({ channelId }));

const statsOf = async (emulatorUrl: string) =>
  (
    (await got.get(`${emulatorUrl}/__emulator/stats`).json()) as {
      callsByEndpoint: { redPackStatistics?: number };
    }
  ).callsByEndpoint.redPackStatistics ?? 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `count` subscribers (one connection each), round robin over the topics. */
async function subscribe(url: string, count: number) {
  const clients: Client[] = [];
  const started: Promise<void>[] = [];
  for (let index = 0; index < count; index++) {
    const topic = LIVE_TOPICS[index % LIVE_TOPICS.length]!;
    const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
    clients.push(client);
    const args = topic.sessionId
      ? `channelId: "${topic.channelId}", sessionId: "${topic.sessionId}"`
      : `channelId: "${topic.channelId}"`;
    started.push(
      new Promise((resolve, reject) => {
        // Subscribed once the first totals arrive (a topic's first poll and walk are done).
        client.subscribe(
          { query: `subscription { channelTotals(${args}) { count } }` },
          { next: () => resolve(), error: reject, complete: () => undefined },
        );
      }),
    );
  }
  await Promise.all(started);
  return clients;
}

/** Polyv calls per minute while `subscribers` idle subscribers follow the ten topics. */
async function callsPerMinute(emulatorUrl: string, windowMs: number) {
  const before = await statsOf(emulatorUrl);
  await sleep(windowMs);
  return ((await statsOf(emulatorUrl)) - before) * (60_000 / windowMs);
}

export async function measureLiveCost(
  emulatorUrl: string,
  env: Record<string, string>,
  subscribers = 1_000,
  windowMs = 30_000,
): Promise<LiveCost> {
  const pollMs = 3_000;
  const gateway: Started = await startGatewayProcess(
    emulatorUrl,
    {
      ...env,
      GATEWAY_LIVE_POLL_MS: String(pollMs),
      GATEWAY_LIVE_MAX_PER_CLIENT: String(subscribers),
    },
    HEAP_PROBE,
  );
  const ws = gateway.url.replace(/^http/, 'ws');
  try {
    const idleRssMb = rssMb(gateway.child);
    // Baseline: one subscriber per topic.
    const few = await subscribe(ws, LIVE_TOPICS.length);
    const baselineCallsPerMinute = await callsPerMinute(emulatorUrl, windowMs);
    const baselineHeapMb = await heapAfterGcMb(gateway.child);
    const many = await subscribe(ws, subscribers - LIVE_TOPICS.length);
    // Let the connections settle (and a GC or two run) before memory is read.
    await sleep(pollMs * 2);
    const calls = await callsPerMinute(emulatorUrl, windowMs);
    const subscribedRssMb = rssMb(gateway.child);
    const subscribedHeapMb = await heapAfterGcMb(gateway.child);
    const peak = peakRssMb(gateway.child);
    await Promise.all([...few, ...many].map((client) => client.dispose()));
    return {
      topics: LIVE_TOPICS.length,
      subscribers,
      callsPerMinute: calls,
      baselineCallsPerMinute,
      idleRssMb,
      baselineHeapMb,
      subscribedHeapMb,
      subscribedRssMb,
      peakRssMb: peak,
      pollMs,
    };
  } finally {
    await stop(gateway);
  }
}
