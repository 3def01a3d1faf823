/**
 * `npm run bench`: bounded runs on loopback; prints a table and writes bench/RESULTS.latest.md.
 * Every figure is set against a minimal Node proxy (bench/proxy.ts: one signed GET, JSON.parse,
 * map, JSON.stringify; no GraphQL), the limit for this work, measured in the same run.
 *
 * 1. The dashboard query (a channel's 100 latest red packs with receives and money): the proxy,
 *    the gateway with its caches off (which must give the proxy's answer byte for byte), and the
 *    bare upstream call (signed got request and JSON.parse), at 0 ms and 20 ms of upstream
 *    latency, 10 clients.
 * 2. The same query warm, saturated with autocannon: from the response cache, and over the page
 *    cache alone (every request a query text never seen before: an alias with a counter, since
 *    no setting turns off only the response cache).
 * 3. Upstream calls per client request when 50 dashboard screens refresh at once (cold cache).
 * 4. Peak RSS of every process, and the gateway's RSS right after start.
 * 5. A red-pack summary over 100,000 red packs (every Polyv page of one channel) with 20 ms
 *    upstream latency, next to the same pages fetched directly with the same concurrency.
 * 6. Live updates: Polyv calls per minute and the gateway's memory with 1,000 idle subscribers
 *    over ten channels, next to the same channels with one subscriber each (bench/live.ts).
 * 7. An export of 100,000 red packs as CSV (GET /export/red-packs.csv): the gateway's RSS growth
 *    and its time next to the same pages fetched directly with the same concurrency
 *    (bench/export.ts).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import got from 'got';
import { BIG_CHANNEL_ID, DEMO_CREDENTIALS } from '../emulator/index.js';
import { WALK_PAGES_IN_FLIGHT } from '../src/pagination/walk.js';
import { signedParams } from '../src/polyv/sign.js';
import {
  EXPORT_LATENCY_MS,
  EXPORT_RED_PACKS,
  EXPORT_VARIANTS,
  describeExportCost,
  measureExportCost,
} from './export.js';
import { LIVE_EXTRA_CHANNELS, measureLiveCost } from './live.js';
import { closedLoop, type LoadResult } from './load.js';
import {
  peakRssMb,
  rssMb,
  startEmulatorProcess,
  startGatewayProcess,
  startProxyProcess,
  stop,
  type Started,
} from './processes.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const CLIENTS = 10;
const DASHBOARD = `query Dashboard { channel(id: "2812610") { redPacks(first: 100) { totalCount nodes {
  id type typeLabel status createdAt sender { nickname } amount { amount fen currency } balance { amount fen }
  receives { user { openId nickname } amount { amount fen } receivedAt } } } } }`;
/** Generous limits: this measures the gateway's overhead, not its protection of Polyv. */
const UNTHROTTLED = {
  POLYV_RATE_PER_SECOND: '100000',
  POLYV_RATE_BURST: '100000',
  GATEWAY_RATE_PER_SECOND: '1000000',
  GATEWAY_RATE_BURST: '1000000',
  POLYV_MAX_CONCURRENCY: '64',
};

const http = got.extend({
  retry: { limit: 0 },
  agent: { http: new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 256 }) },
});

const direct = (emulatorUrl: string) => async () => {
  const params = signedParams(
    { channelId: '2812610', pageNumber: 1, pageSize: 100 },
    DEMO_CREDENTIALS,
  );
  const body = await http
    .get(`${emulatorUrl}/live/v4/channel/red-pack/statistics/list`, { searchParams: params })
    .text();
  const parsed = JSON.parse(body) as { code: number; data: { contents: unknown[] } };
  return parsed.code === 200 && parsed.data.contents.length === 100;
};

const answerFrom = (url: string, query = DASHBOARD) => http.post(url, { json: { query } }).text();

/** True for a full dashboard answer (under `field`, `channel` unless the query aliased it). */
const isDashboard = (body: string, field = 'channel') => {
  const parsed = JSON.parse(body) as {
    data?: Record<string, { redPacks: { nodes: unknown[] } }>;
    errors?: unknown;
  };
  return !parsed.errors && parsed.data?.[field]?.redPacks.nodes.length === 100;
};

/** One dashboard request to the gateway or the proxy; the client parses both answers alike. */
const dashboard = (url: string) => async () => isDashboard(await answerFrom(url));

/** A dashboard query whose text the gateway has never seen: it misses the response cache. */
let unseenCount = 0;
const unseenDashboard = () => {
  const field = `unseen${unseenCount++}`;
  return { field, query: DASHBOARD.replace('channel(', `${field}: channel(`) };
};

const upstreamCalls = async (emulatorUrl: string) =>
  ((await http.get(`${emulatorUrl}/__emulator/stats`).json()) as { totalCalls: number }).totalCalls;

/**
 * Throughput from autocannon: a load generator light enough to saturate the gateway. It does not
 * parse the 150 kB answers (that would measure the client); each scenario checks one first.
 */
async function saturate(url: string, nextQuery = () => DASHBOARD): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      { setupRequest: (request) => ({ ...request, body: JSON.stringify({ query: nextQuery() }) }) },
    ],
    connections: 32,
    duration: DURATION_MS / 1000,
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.non2xx,
    seconds: result.duration,
    throughput: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mb = (value: number) => `${value.toFixed(0)} MB`;
const times = (value: number, limit: number) => `${(value / limit).toFixed(2)}×`;
const rows: string[][] = [];
const targets: { name: string; met: boolean; detail: string }[] = [];
const row = (scenario: string, result: LoadResult, vsProxy: string, peakRss: number, note = '') =>
  rows.push([
    scenario,
    result.requests.toString(),
    result.errors.toString(),
    result.throughput.toFixed(0),
    ms(result.p50),
    ms(result.p99),
    vsProxy,
    Number.isNaN(peakRss) ? '' : mb(peakRss),
    note,
  ]);
/** Throughput, p50 and p99 as multiples of the proxy's. */
const vsProxy = (result: LoadResult, proxy: LoadResult) =>
  `req/s ${times(result.throughput, proxy.throughput)}, p50 ${times(result.p50, proxy.p50)}, p99 ${times(result.p99, proxy.p99)}`;

/** Every gateway with default memory settings (not the summary's), and its RSS at start. */
const gatewayPeaks: number[] = [];
const idleRss: number[] = [];
async function startGateway(emulatorUrl: string, env: Record<string, string>): Promise<Started> {
  const gateway = await startGatewayProcess(emulatorUrl, { ...UNTHROTTLED, ...env });
  idleRss.push(rssMb(gateway.child));
  return gateway;
}
const gatewayPeak = (gateway: Started) => {
  const peak = peakRssMb(gateway.child);
  gatewayPeaks.push(peak);
  return peak;
};

let proxyAtZero: LoadResult | undefined;
const loadBefore = os.loadavg();
for (const latency of [0, 20]) {
  const emulator = await startEmulatorProcess(latency);
  const proxy = await startProxyProcess(emulator.url);
  const cold = await startGateway(emulator.url, { GATEWAY_CACHE: 'off' });
  try {
    // Warm-up: JIT, sockets.
    await closedLoop(CLIENTS, 1_000, direct(emulator.url));
    await closedLoop(CLIENTS, 1_000, dashboard(proxy.url));
    await closedLoop(CLIENTS, 1_000, dashboard(cold.url));

    // The limit only means something if it answers the same bytes.
    const [fromProxy, fromGateway] = [await answerFrom(proxy.url), await answerFrom(cold.url)];
    if (fromProxy !== fromGateway || !isDashboard(fromGateway)) {
      let at = 0;
      while (fromProxy[at] === fromGateway[at]) at++;
      throw new Error(
        `the proxy's answer differs from the gateway's at byte ${at}:\n  proxy:   …${fromProxy.slice(at - 80, at + 80)}\n  gateway: …${fromGateway.slice(at - 80, at + 80)}`,
      );
    }

    const floor = await closedLoop(CLIENTS, DURATION_MS, direct(emulator.url));
    const limit = await closedLoop(CLIENTS, DURATION_MS, dashboard(proxy.url));
    const gateway = await closedLoop(CLIENTS, DURATION_MS, dashboard(cold.url));
    row(
      `upstream call alone, ${latency} ms upstream`,
      floor,
      vsProxy(floor, limit),
      NaN,
      'signed GET + JSON.parse, no answer',
    );
    row(
      `proxy, ${latency} ms upstream`,
      limit,
      '1.00×',
      peakRssMb(proxy.child),
      `same ${fromProxy.length.toLocaleString('en')} answer bytes as the gateway`,
    );
    row(
      `gateway, caches off, ${latency} ms upstream`,
      gateway,
      vsProxy(gateway, limit),
      gatewayPeak(cold),
    );
    if (latency === 0) {
      proxyAtZero = limit;
      targets.push({
        name: '1. caches off, 0 ms upstream: gateway throughput ≥ 0.5× proxy',
        met: gateway.throughput >= 0.5 * limit.throughput,
        detail: `${times(gateway.throughput, limit.throughput)} (${gateway.throughput.toFixed(0)} vs ${limit.throughput.toFixed(0)} req/s)`,
      });
    } else {
      const p50 = gateway.p50 / limit.p50;
      const p99 = gateway.p99 / limit.p99;
      targets.push({
        name: `2. caches off, ${latency} ms upstream, ${CLIENTS} clients: gateway p50 ≤ 1.2×, p99 ≤ 1.5× proxy`,
        met: p50 <= 1.2 && p99 <= 1.5,
        detail: `p50 ${p50.toFixed(2)}× (${ms(gateway.p50)} vs ${ms(limit.p50)}), p99 ${p99.toFixed(2)}× (${ms(gateway.p99)} vs ${ms(limit.p99)})`,
      });
    }
  } finally {
    await stop(cold);
  }

  if (latency === 0) {
    // Warm, from the response cache: the same query text again and again.
    const warm = await startGateway(emulator.url, { GATEWAY_CACHE: 'on' });
    try {
      if (!isDashboard(await answerFrom(warm.url))) throw new Error('the warm answer is wrong');
      const cached = await saturate(warm.url);
      row(
        `gateway, response cache, ${latency} ms upstream (autocannon, 32 connections)`,
        cached,
        `req/s ${times(cached.throughput, proxyAtZero!.throughput)} the proxy's cold`,
        gatewayPeak(warm),
      );
      targets.push({
        name: '3a. warm, response cache: ≥ 3,000 req/s',
        met: cached.throughput >= 3000,
        detail: `${cached.throughput.toFixed(0)} req/s`,
      });
    } finally {
      await stop(warm);
    }

    // Warm over the page cache alone: every query text new, every Polyv page cached.
    const paged = await startGateway(emulator.url, { GATEWAY_CACHE: 'on' });
    try {
      const first = unseenDashboard();
      if (!isDashboard(await answerFrom(paged.url, first.query), first.field))
        throw new Error('the answer over the page cache is wrong');
      const before = await upstreamCalls(emulator.url);
      const overPages = await saturate(paged.url, () => unseenDashboard().query);
      const calls = (await upstreamCalls(emulator.url)) - before;
      row(
        `gateway, page cache only, ${latency} ms upstream (autocannon, 32 connections)`,
        overPages,
        `req/s ${times(overPages.throughput, proxyAtZero!.throughput)} the proxy's cold`,
        gatewayPeak(paged),
        `each query text new (aliased); ${calls} upstream call(s)`,
      );
      targets.push({
        name: '3b. warm, page cache only (a query never seen before): ≥ 3,000 req/s',
        met: overPages.throughput >= 3000,
        detail: `${overPages.throughput.toFixed(0)} req/s`,
      });
    } finally {
      await stop(paged);
    }
  }

  if (latency === 20) {
    // 50 screens refresh the same dashboard at once, on a cold cache.
    const fresh = await startGateway(emulator.url, { GATEWAY_CACHE: 'on' });
    try {
      const before = await upstreamCalls(emulator.url);
      const answers = await Promise.all(Array.from({ length: 50 }, () => dashboard(fresh.url)()));
      const calls = (await upstreamCalls(emulator.url)) - before;
      const ok = answers.filter(Boolean).length;
      rows.push([
        '50-screen refresh, cold cache, 20 ms upstream',
        '50',
        String(50 - ok),
        '',
        '',
        '',
        '',
        mb(gatewayPeak(fresh)),
        `${calls} upstream call(s): ${(calls / 50).toFixed(2)} per request, 1 distinct page`,
      ]);
      targets.push({
        name: '50-screen refresh: ≤ 1 upstream call per distinct page',
        met: calls <= 1 && ok === 50,
        detail: `${calls} call(s) for 1 page`,
      });
    } finally {
      await stop(fresh);
    }
  }
  await stop(proxy, emulator);
}
{
  const peak = Math.max(...gatewayPeaks);
  const idle = Math.max(...idleRss);
  targets.push({
    name: '4. gateway RSS, default settings: peak < 150 MB over the bench, < 100 MB idle after start',
    met: peak < 150 && idle < 100,
    detail: `peak ${mb(peak)}, idle ${mb(idle)} (largest of ${idleRss.length} starts)`,
  });
}

// A summary over a whole big channel: every page of it, as many at a time as a walk asks.
{
  const redPacks = 100_000;
  const latency = 20;
  const emulator = await startEmulatorProcess(latency, [
    '--big-channel-red-packs',
    String(redPacks),
  ]);
  const gateway = await startGatewayProcess(emulator.url, {
    ...UNTHROTTLED,
    GATEWAY_CACHE: 'off',
    // Above the default (50,000 records a summary). A summary streams its pages, so it is
    // charged against the upstream calls (100 pages of the 200 allowed), not the held records.
    GATEWAY_SUMMARY_MAX_RECORDS: String(redPacks),
  });
  try {
    const query = `{ channel(id: "${BIG_CHANNEL_ID}") { redPackSummary { count totalAmount { amount } asOf } } }`;
    const summary = async () => {
      const before = await upstreamCalls(emulator.url);
      const started = performance.now();
      const body = (await http.post(gateway.url, { json: { query } }).json()) as {
        data?: { channel: { redPackSummary: { count: number; totalAmount: { amount: string } } } };
        errors?: unknown;
      };
      const elapsed = performance.now() - started;
      const calls = (await upstreamCalls(emulator.url)) - before;
      const answer = body.data?.channel.redPackSummary;
      if (body.errors || answer?.count !== redPacks)
        throw new Error(`wrong summary answer: ${JSON.stringify(body).slice(0, 500)}`);
      return { ms: elapsed, calls, total: answer.totalAmount.amount };
    };
    const pages = Math.ceil(redPacks / 1000);
    // The walk asks for WALK_PAGES_IN_FLIGHT pages at a time: the direct fetch does the same.
    const concurrency = WALK_PAGES_IN_FLIGHT;
    /** The same pages fetched directly (signed got requests and JSON.parse), as concurrently. */
    const directly = async () => {
      const started = performance.now();
      let next = 1;
      const worker = async () => {
        for (let page = next++; page <= pages; page = next++) {
          const params = signedParams(
            { channelId: BIG_CHANNEL_ID, pageNumber: page, pageSize: 1000 },
            DEMO_CREDENTIALS,
          );
          const url = `${emulator.url}/live/v4/channel/red-pack/statistics/list`;
          JSON.parse(await http.get(url, { searchParams: params }).text());
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      return performance.now() - started;
    };
    // Warm-up: JIT, sockets (the cache is off: every run fetches every page).
    await summary();
    await directly();
    const runs = [await summary(), await summary(), await summary()];
    const direct = Math.min(await directly(), await directly(), await directly());
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const lowerBound = (pages / concurrency) * latency;
    const peak = peakRssMb(gateway.child);
    rows.push([
      `red-pack summary over ${redPacks.toLocaleString('en')} red packs, cache off, ${latency} ms upstream`,
      String(runs.length),
      '0',
      '',
      `${ms(runs.map((run) => run.ms).sort((a, b) => a - b)[1]!)} (best ${ms(best.ms)})`,
      '',
      `best ${times(best.ms, direct)} the direct fetch`,
      mb(peak),
      `${best.calls} upstream call(s) for ${pages} pages; the same pages fetched directly, ${concurrency} at a time: ${ms(direct)}; lower bound ${pages} ÷ ${concurrency} × ${latency} ms = ${ms(lowerBound)}; total ¥${best.total}`,
    ]);
    targets.push({
      name: `5. summary over ${redPacks.toLocaleString('en')} red packs, ${latency} ms upstream: ≤ 1.5× the same pages fetched directly, peak RSS < 200 MB`,
      met: best.ms <= 1.5 * direct && peak < 200,
      detail: `${times(best.ms, direct)} (${ms(best.ms)} vs ${ms(direct)}), peak ${mb(peak)}`,
    });
  } finally {
    await stop(gateway, emulator);
  }
}
// An export of a whole big channel: what it holds while it streams, and how long it takes.
{
  const emulator = await startEmulatorProcess(EXPORT_LATENCY_MS, [
    '--big-channel-red-packs',
    String(EXPORT_RED_PACKS),
  ]);
  try {
    for (const variant of EXPORT_VARIANTS) {
      const cost = await measureExportCost(emulator.url, UNTHROTTLED, variant);
      const best = Math.min(...cost.runs.map((run) => run.ms));
      const growth = cost.peakRssMb - cost.baselineRssMb;
      rows.push([
        `export of ${EXPORT_RED_PACKS.toLocaleString('en')} red packs as CSV, cache ${cost.cache}, ${variant.heap === 'image' ? "the image's heap limit" : "Node's default heap limit"}, ${EXPORT_LATENCY_MS} ms upstream`,
        String(cost.runs.length),
        '0',
        '',
        `best ${ms(best)}`,
        '',
        `best ${times(best, cost.direct)} the direct fetch`,
        mb(cost.peakRssMb),
        describeExportCost(cost),
      ]);
      // The export's own footprint: with the page cache on, the cache also fills its share of
      // GATEWAY_CACHE_MAX_MB (32 MB of 64) with the pages, as a summary's walk does.
      if (variant.heap === 'image' && variant.cache === 'off')
        targets.push({
          name: `7. export of ${EXPORT_RED_PACKS.toLocaleString('en')} red packs, page cache off, as the image runs: gateway RSS growth < 50 MB`,
          met: growth < 50,
          detail: `${mb(growth)} (${mb(cost.baselineRssMb)} → peak ${mb(cost.peakRssMb)}); ${times(best, cost.direct)} the same pages fetched directly (${ms(best)} vs ${ms(cost.direct)})`,
        });
    }
  } finally {
    await stop(emulator);
  }
}
// Live updates: what 1,000 idle subscribers cost, next to ten (one per channel).
{
  const emulator = await startEmulatorProcess(0, ['--extra-channels', String(LIVE_EXTRA_CHANNELS)]);
  try {
    const cost = await measureLiveCost(emulator.url, UNTHROTTLED);
    // What each subscriber adds, beyond what following the topics costs (their pages, totals).
    const perSubscriberKb =
      ((cost.subscribedHeapMb - cost.baselineHeapMb) * 1024) / (cost.subscribers - cost.topics);
    const expected = (cost.topics * 60_000) / cost.pollMs;
    rows.push([
      `${cost.subscribers.toLocaleString('en')} idle subscribers (WebSocket) over ${cost.topics} followed channels, poll every ${cost.pollMs / 1000} s`,
      '',
      '0',
      '',
      '',
      '',
      `${(cost.callsPerMinute / cost.baselineCallsPerMinute).toFixed(2)}× the calls of ${cost.topics} subscribers`,
      mb(cost.peakRssMb),
      `Polyv calls/min: ${cost.callsPerMinute.toFixed(0)} with ${cost.subscribers.toLocaleString('en')} subscribers, ${cost.baselineCallsPerMinute.toFixed(0)} with ${cost.topics} (one poll per channel per interval: ${expected}); heap after GC ${mb(cost.baselineHeapMb)} with ${cost.topics} subscribers, ${mb(cost.subscribedHeapMb)} with ${cost.subscribers.toLocaleString('en')} (${perSubscriberKb.toFixed(1)} kB a subscriber); RSS idle ${mb(cost.idleRssMb)}, ${mb(cost.subscribedRssMb)} subscribed`,
    ]);
    targets.push({
      name: `6. ${cost.subscribers.toLocaleString('en')} idle subscribers over ${cost.topics} channels: Polyv calls ≤ 1.1× those of ${cost.topics} subscribers; < 25 kB of heap a subscriber`,
      met: cost.callsPerMinute <= 1.1 * cost.baselineCallsPerMinute && perSubscriberKb < 25,
      detail: `${cost.callsPerMinute.toFixed(0)} vs ${cost.baselineCallsPerMinute.toFixed(0)} calls/min; ${perSubscriberKb.toFixed(1)} kB of heap a subscriber (${mb(cost.baselineHeapMb)} → ${mb(cost.subscribedHeapMb)} after GC)`,
    });
  } finally {
    await stop(emulator);
  }
}
const loadAfter = os.loadavg();

const header = [
  'scenario',
  'requests',
  'errors',
  'req/s',
  'p50',
  'p99',
  '× proxy',
  'peak RSS',
  'note',
];
const table = [header, header.map(() => '---'), ...rows]
  .map((cells) => `| ${cells.join(' | ')} |`)
  .join('\n');
targets.sort((a, b) => (a.name < b.name ? -1 : 1)); // by number: 1. … 5., then the rest
const targetTable = [
  '| target | result | met |',
  '| --- | --- | --- |',
  ...targets.map(
    (target) => `| ${target.name} | ${target.detail} | ${target.met ? 'yes' : 'NO'} |`,
  ),
].join('\n');
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
const load = (averages: number[]) => averages.map((value) => value.toFixed(2)).join(' ');
const report = `## ${new Date().toISOString().slice(0, 10)}: ${machine}

Load average ${load(loadBefore)} before, ${load(loadAfter)} after. Each run ${DURATION_MS / 1000} s after a 1 s warm-up; emulator, proxy, gateway and load generator are separate processes on loopback. × proxy: the proxy's figure in the same run at the same latency (warm rows: its cold throughput at 0 ms). Gateway idle RSS right after start: ${idleRss.map(mb).join(', ')}.

${table}

${targetTable}
`;
console.log(report);
writeFileSync(new URL('../../bench/RESULTS.latest.md', import.meta.url), report);
if (targets.some((target) => !target.met)) process.exitCode = 1;
