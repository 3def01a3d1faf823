/**
 * What one key's snapshots do to another key's queries (issue 20 point 3): the scoped key holds
 * N WebSocket connections of 20 subscriptions each, every one asking `recent: 100` with the
 * heaviest selection the cost limit lets through, and subscribes again as soon as a snapshot is
 * out; meanwhile the other key sends one query after another. Prints the victim's p50 and p99
 * with 0, 3 and 8 attacking connections. Production defaults (keys, rate limits, gate).
 *
 * Run: npm run build && tsc -p tsconfig.bench.json && node dist-bench/bench/snapshotPressure.js
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { hashApiKey } from '../src/auth/apiKeys.js';
import { startEmulatorProcess, startGatewayProcess } from './processes.js';

const ATTACKER = 'ops-key-3f9a1c77d2e84b6f';
const VICTIM = 'finance-key-8b2d4e6f0a1c3e5f';
const RECEIVE = 'receives { user { nickname openId } amount { amount fen } receivedAt }';
const SELECTION = `id amount { amount fen } balance { amount } ${Array.from({ length: 11 }, (_, i) => `r${i}: ${RECEIVE}`).join(' ')}`;
const SNAPSHOT = `subscription { redPackEvents(channelId: "2812610", recent: 100) { kind redPack { ${SELECTION} } } }`;
const VICTIM_QUERY =
  '{ channel(id: "2812612") { redPacks(first: 20) { nodes { id amount { amount } } } } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function attackConnection(
  url: string,
  stop: { stopped: boolean },
  counts: { snapshots: number; refused: number; bytes: number; closes: string[] },
) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  // A connection the gateway closes (a limit, shutdown) is the gateway's answer, not a failure.
  socket.on('error', () => undefined);
  socket.on('close', (code: number, reason: Buffer) => {
    if (!stop.stopped) counts.closes.push(`${code} ${String(reason)}`);
  });
  let next = 0;
  const subscribe = () => {
    if (stop.stopped || socket.readyState !== WebSocket.OPEN) return;
    socket.send(
      JSON.stringify({ type: 'subscribe', id: String(next++), payload: { query: SNAPSHOT } }),
    );
  };
  socket.on('open', () =>
    socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ATTACKER}` } }),
    ),
  );
  const seen = new Map<string, number>();
  socket.on('message', (data: Buffer) => {
    counts.bytes += data.length;
    const message = JSON.parse(String(data)) as {
      type: string;
      id?: string;
      payload?: { errors?: unknown; data?: { redPackEvents?: { kind: string } } };
    };
    if (message.type === 'connection_ack') for (let i = 0; i < 20; i++) subscribe();
    if (message.type === 'error' || (message.type === 'next' && message.payload?.errors)) {
      counts.refused++;
      if (message.type === 'next')
        socket.send(JSON.stringify({ type: 'complete', id: message.id }));
      setTimeout(subscribe, 50);
      return;
    }
    if (message.type === 'next' && message.id) {
      const n = (seen.get(message.id) ?? 0) + 1;
      seen.set(message.id, n);
      // The channel's snapshot is all its red packs (under 100): once they are in, again.
      if (n === 40) {
        counts.snapshots++;
        seen.delete(message.id);
        socket.send(JSON.stringify({ type: 'complete', id: message.id }));
        subscribe();
      }
    }
  });
  return socket;
}

async function victimLatencies(url: string, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const started = performance.now();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${VICTIM}` },
      body: JSON.stringify({ query: VICTIM_QUERY }),
    });
    const body = (await response.json()) as { data?: unknown };
    if (!body.data) throw new Error(`the victim's query failed: ${JSON.stringify(body)}`);
    const took = performance.now() - started;
    latencies.push(took);
    // A dashboard's pace, within the victim's own rate limit (20/s).
    await sleep(Math.max(0, 100 - took));
  }
  return latencies.sort((a, b) => a - b);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function main() {
  const keys = path.join(mkdtempSync(path.join(tmpdir(), 'bench-keys-')), 'keys.json');
  writeFileSync(
    keys,
    JSON.stringify([
      { name: 'ops-dashboard', sha256: hashApiKey(ATTACKER), channels: ['2812610'] },
      { name: 'finance', sha256: hashApiKey(VICTIM) },
    ]),
  );
  const emulator = await startEmulatorProcess(0);
  const started = await startGatewayProcess(
    emulator.url,
    { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: keys },
    ['--max-old-space-size=256'],
  );
  // Its listening line names /graphql; the paths below add it.
  const gateway = { ...started, url: started.url.replace(/\/graphql$/, '') };
  try {
    for (const connections of [0, 3, 8]) {
      const stop = { stopped: false };
      const counts = { snapshots: 0, refused: 0, bytes: 0, closes: [] as string[] };
      const sockets = Array.from({ length: connections }, () =>
        attackConnection(gateway.url, stop, counts),
      );
      await sleep(1_000);
      const latencies = await victimLatencies(gateway.url, 10_000);
      stop.stopped = true;
      for (const socket of sockets) socket.close();
      console.log(
        `${connections} attacking connections: victim p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms over ${latencies.length} queries; attacker ${counts.snapshots} snapshots, ${counts.refused} refusals, ${(counts.bytes / 1e6).toFixed(1)} MB; closed: ${JSON.stringify([...new Set(counts.closes)])}`,
      );
      await sleep(2_000);
    }
  } finally {
    gateway.child.kill();
    emulator.child.kill();
  }
}

await main();
