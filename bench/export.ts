/**
 * What an export of a whole big channel costs (docs/exports.md): the gateway's RSS growth while
 * it streams 100,000 red packs as CSV, and its time next to the same Polyv pages fetched directly
 * (signed got requests and JSON.parse, no CSV) with the same concurrency, measured in the same
 * run. Part of `npm run bench` (scenario 7); alone, with an emulator of its own:
 *
 *   npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/export.js
 *
 * The gateway runs as the image runs it (the Dockerfile's NODE_OPTIONS=--max-old-space-size=256),
 * and once more with Node's default heap limit for comparison. What an export holds is a few
 * pages; what its RSS grows by is mostly garbage not yet collected: every Polyv page arrives as
 * one large string (large-object space, freed only by a full GC), and with Node's default limit
 * (gigabytes, on this machine) V8 lets the old generation grow to several times what is live
 * before collecting it. With the image's 256 MB it collects sooner.
 */
import http from 'node:http';
import got from 'got';
import { BIG_CHANNEL_ID, DEMO_CREDENTIALS } from '../emulator/index.js';
import { EXPORT_PAGES_IN_FLIGHT } from '../src/server/exports/index.js';
import { signedParams } from '../src/polyv/sign.js';
import {
  peakRssMb,
  rssMb,
  startEmulatorProcess,
  startGatewayProcess,
  stop,
  UNTHROTTLED,
} from './processes.js';

/** Red packs in the big channel the bench exports. */
export const EXPORT_RED_PACKS = 100_000;
/** Upstream latency of the emulator, as for the summary scenario. */
export const EXPORT_LATENCY_MS = 20;
/** The heap limit the image runs with (Dockerfile, NODE_OPTIONS). */
export const IMAGE_HEAP = '--max-old-space-size=256';
/** The variants measured: the image's heap with the page cache on (the default) and off, then Node's default. */
export const EXPORT_VARIANTS = [
  { cache: 'on', heap: 'image' },
  { cache: 'off', heap: 'image' },
  { cache: 'off', heap: 'default' },
] as const;

export interface ExportRun {
  ms: number;
  rows: number;
  bytes: number;
  complete: boolean;
}

export interface ExportCost {
  /** With the page cache off (every page fetched, as the direct fetch does) or on (defaults). */
  cache: 'off' | 'on';
  /** Node's heap limit: the image's 256 MB, or Node's default. */
  heap: 'image' | 'default';
  runs: ExportRun[];
  direct: number;
  /** RSS after start-up and a small export, before the big ones. */
  baselineRssMb: number;
  /** Peak RSS (VmHWM) after the big exports. */
  peakRssMb: number;
  /** Polyv calls of one export. */
  calls: number;
  pages: number;
  concurrency: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const client = got.extend({ retry: { limit: 0 }, agent: { http: agent } });

/** Streams one export, counting its bytes and records (CRLF; the big channel quotes none). */
function streamExport(url: string): Promise<ExportRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { 'apollo-require-preflight': 'true' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`export answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let bytes = 0;
      let lineEnds = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lineEnds++;
      });
      const done = () =>
        resolve({
          ms: performance.now() - started,
          rows: lineEnds - 1,
          bytes,
          complete: res.complete,
        });
      res.on('end', done);
      res.on('aborted', done);
    });
    request.on('error', reject);
  });
}

/**
 * The big channel's first `pages` pages fetched directly (signed got requests and JSON.parse),
 * `concurrency` at a time: what an export's or a summary's walk is measured against.
 */
export async function fetchDirectly(emulatorUrl: string, pages: number, concurrency: number) {
  const started = performance.now();
  let next = 1;
  const worker = async () => {
    for (let page = next++; page <= pages; page = next++) {
      const params = signedParams(
        { channelId: BIG_CHANNEL_ID, pageNumber: page, pageSize: 1000 },
        DEMO_CREDENTIALS,
      );
      const url = `${emulatorUrl}/live/v4/channel/red-pack/statistics/list`;
      JSON.parse(await client.get(url, { searchParams: params }).text());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - started;
}

const upstreamCalls = async (emulatorUrl: string) =>
  ((await client.get(`${emulatorUrl}/__emulator/stats`).json()) as { totalCalls: number })
    .totalCalls;

/**
 * Exports the big channel three times from a fresh gateway (after a small export to warm it
 * up) and fetches its pages directly three times; `emulatorUrl` must serve the big channel.
 */
export async function measureExportCost(
  emulatorUrl: string,
  env: Record<string, string>,
  options: { cache: 'off' | 'on'; heap: 'image' | 'default' },
): Promise<ExportCost> {
  const { cache, heap } = options;
  const gateway = await startGatewayProcess(
    emulatorUrl,
    { ...env, GATEWAY_CACHE: cache },
    heap === 'image' ? [IMAGE_HEAP] : [],
  );
  try {
    // The gateway's line gives GraphQL's URL; exports are beside it.
    const origin = new URL(gateway.url).origin;
    const url = (channel: string) => `${origin}/export/red-packs.csv?channelId=${channel}`;
    // Warm-up: JIT, sockets, the CSV writer; then the baseline.
    await streamExport(url('2812610'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baselineRssMb = rssMb(gateway.child);
    const runs: ExportRun[] = [];
    let calls = 0;
    for (let run = 0; run < 3; run++) {
      const before = await upstreamCalls(emulatorUrl);
      runs.push(await streamExport(url(BIG_CHANNEL_ID)));
      calls = (await upstreamCalls(emulatorUrl)) - before;
    }
    const peak = peakRssMb(gateway.child);
    const pages = Math.ceil(EXPORT_RED_PACKS / 1000);
    await fetchDirectly(emulatorUrl, pages, EXPORT_PAGES_IN_FLIGHT); // warm-up
    const direct = Math.min(
      await fetchDirectly(emulatorUrl, pages, EXPORT_PAGES_IN_FLIGHT),
      await fetchDirectly(emulatorUrl, pages, EXPORT_PAGES_IN_FLIGHT),
      await fetchDirectly(emulatorUrl, pages, EXPORT_PAGES_IN_FLIGHT),
    );
    for (const run of runs)
      if (!run.complete || run.rows !== EXPORT_RED_PACKS)
        throw new Error(`an export was not whole: ${JSON.stringify(run)}`);
    return {
      cache,
      heap,
      runs,
      direct,
      baselineRssMb,
      peakRssMb: peak,
      calls,
      pages,
      concurrency: EXPORT_PAGES_IN_FLIGHT,
    };
  } finally {
    await stop(gateway);
  }
}

/** One line of figures for a cost, for the table and for a person. */
export function describeExportCost(cost: ExportCost): string {
  const times = cost.runs.map((run) => run.ms);
  const best = Math.min(...times);
  const growth = cost.peakRssMb - cost.baselineRssMb;
  return (
    `cache ${cost.cache}, ${cost.heap === 'image' ? `${IMAGE_HEAP} (the image's)` : "Node's default heap limit"}: best ${best.toFixed(0)} ms of ${times.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
    `(${(best / cost.direct).toFixed(2)}× the same ${cost.pages} pages fetched directly, ${cost.concurrency} at a time: ${cost.direct.toFixed(0)} ms); ` +
    `${cost.calls} Polyv calls an export; ${(cost.runs[0]!.bytes / 2 ** 20).toFixed(1)} MB of CSV; ` +
    `RSS ${cost.baselineRssMb.toFixed(0)} MB before, peak ${cost.peakRssMb.toFixed(0)} MB: growth ${growth.toFixed(0)} MB`
  );
}

// Alone: an emulator of its own, every variant.
if (import.meta.url === `file://${process.argv[1]}`) {
  const emulator = await startEmulatorProcess(EXPORT_LATENCY_MS, [
    '--big-channel-red-packs',
    String(EXPORT_RED_PACKS),
  ]);
  try {
    for (const variant of EXPORT_VARIANTS)
      console.log(describeExportCost(await measureExportCost(emulator.url, UNTHROTTLED, variant)));
  } finally {
    await stop(emulator);
    agent.destroy();
  }
}
