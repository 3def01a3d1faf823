/**
 * `npm run bench`: bounded runs on loopback; prints a table and records it in bench/RESULTS.md.
 *
 * 1. The dashboard query (a channel's 100 latest red packs with receives and money) through the
 *    gateway with its cache off, against the same upstream call made directly (a signed got
 *    request and JSON.parse: the floor), with 0 ms and 20 ms of upstream latency, 10 clients.
 * 2. The same query from a warm cache, as many clients as it takes to saturate.
 * 3. Upstream calls per client request when 50 dashboard screens refresh at once (cold cache).
 * 4. Peak RSS of the gateway processes under that load.
 * 5. A red-pack summary over 100,000 red packs (every Polyv page of one channel) with 20 ms
 *    upstream latency: its time and upstream calls, next to the lower bound (pages needed ÷
 *    allowed concurrency × latency).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import got from 'got';
import { BIG_CHANNEL_ID, DEMO_CREDENTIALS } from '../src/emulator/index.js';
import { signedParams } from '../src/polyv/sign.js';
import { closedLoop, type LoadResult } from './load.js';
import { peakRssMb, startEmulatorProcess, startGatewayProcess, stop } from './processes.js';

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

const viaGateway = (gatewayUrl: string) => async () => {
  const body = await http.post(gatewayUrl, { json: { query: DASHBOARD } }).text();
  const parsed = JSON.parse(body) as {
    data?: { channel: { redPacks: { nodes: unknown[] } } };
    errors?: unknown;
  };
  return !parsed.errors && parsed.data?.channel.redPacks.nodes.length === 100;
};

const upstreamCalls = async (emulatorUrl: string) =>
  ((await http.get(`${emulatorUrl}/__emulator/stats`).json()) as { totalCalls: number }).totalCalls;

/** Throughput from autocannon: a load generator light enough to saturate the gateway. */
async function saturate(url: string): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: DASHBOARD }),
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
const rows: string[][] = [];
const targets: { name: string; met: boolean; detail: string }[] = [];
const row = (scenario: string, result: LoadResult, note = '') =>
  rows.push([
    scenario,
    result.requests.toString(),
    result.errors.toString(),
    result.throughput.toFixed(0),
    ms(result.p50),
    ms(result.p99),
    note,
  ]);

let peakRss = 0;
for (const latency of [0, 20]) {
  const emulator = await startEmulatorProcess(latency);
  const cold = await startGatewayProcess(emulator.url, { ...UNTHROTTLED, GATEWAY_CACHE: 'off' });
  try {
    // Warm-up: JIT, sockets.
    await closedLoop(CLIENTS, 1_000, direct(emulator.url));
    await closedLoop(CLIENTS, 1_000, viaGateway(cold.url));

    const floor = await closedLoop(CLIENTS, DURATION_MS, direct(emulator.url));
    const gateway = await closedLoop(CLIENTS, DURATION_MS, viaGateway(cold.url));
    const ratio = gateway.p50 / floor.p50;
    row(`direct signed call, ${latency} ms upstream`, floor, 'the floor');
    row(
      `gateway, cache off, ${latency} ms upstream`,
      gateway,
      `p50 ${ratio.toFixed(2)}× the floor`,
    );
    peakRss = Math.max(peakRss, peakRssMb(cold.child));
    if (latency === 20)
      targets.push({
        name: 'cache off, 20 ms upstream, 10 clients: gateway p50 ≤ 1.5× direct',
        met: ratio <= 1.5,
        detail: `${ratio.toFixed(2)}×`,
      });
  } finally {
    await stop(cold);
  }

  const warm = await startGatewayProcess(emulator.url, { ...UNTHROTTLED, GATEWAY_CACHE: 'on' });
  try {
    // Warm it, and check one answer in full; then a load generator that does not parse
    // 160 kB answers (parsing them would measure the client, not the gateway).
    if (!(await viaGateway(warm.url)())) throw new Error('the warm-cache answer is wrong');
    const cached = await saturate(warm.url);
    row(`gateway, warm cache, ${latency} ms upstream (autocannon, 32 connections)`, cached);
    peakRss = Math.max(peakRss, peakRssMb(warm.child));
    if (latency === 20)
      targets.push({
        name: 'warm cache: ≥ 1500 requests/s',
        met: cached.throughput >= 1500,
        detail: `${cached.throughput.toFixed(0)}/s`,
      });
  } finally {
    await stop(warm);
  }

  if (latency === 20) {
    // 50 screens refresh the same dashboard at once, on a cold cache.
    const fresh = await startGatewayProcess(emulator.url, { ...UNTHROTTLED, GATEWAY_CACHE: 'on' });
    try {
      const before = await upstreamCalls(emulator.url);
      const answers = await Promise.all(Array.from({ length: 50 }, () => viaGateway(fresh.url)()));
      const calls = (await upstreamCalls(emulator.url)) - before;
      const ok = answers.filter(Boolean).length;
      rows.push([
        '50-screen refresh, cold cache, 20 ms upstream',
        '50',
        String(50 - ok),
        '',
        '',
        '',
        `${calls} upstream call(s): ${(calls / 50).toFixed(2)} per request, 1 distinct page`,
      ]);
      targets.push({
        name: '50-screen refresh: ≤ 1 upstream call per distinct page',
        met: calls <= 1 && ok === 50,
        detail: `${calls} call(s) for 1 page`,
      });
      peakRss = Math.max(peakRss, peakRssMb(fresh.child));
    } finally {
      await stop(fresh);
    }
  }
  await stop(emulator);
}
// A summary over a whole big channel: every page of it, fetched as concurrently as allowed.
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
    const concurrency = Number(UNTHROTTLED.POLYV_MAX_CONCURRENCY);
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
    rows.push([
      `red-pack summary over ${redPacks.toLocaleString('en')} red packs, cache off, ${latency} ms upstream`,
      String(runs.length),
      '0',
      '',
      `${ms(runs.map((run) => run.ms).sort((a, b) => a - b)[1]!)} (best ${ms(best.ms)})`,
      '',
      `${best.calls} upstream call(s) for ${pages} pages; lower bound ${pages} ÷ ${concurrency} × ${latency} ms = ${ms(lowerBound)}; the same pages fetched directly: ${ms(direct)}; gateway peak RSS ${peakRssMb(gateway.child).toFixed(0)} MB; total ¥${best.total}`,
    ]);
  } finally {
    await stop(gateway, emulator);
  }
}

targets.push({
  name: 'peak RSS of the gateway < 200 MB',
  met: peakRss < 200,
  detail: `${peakRss.toFixed(0)} MB`,
});

const header = ['scenario', 'requests', 'errors', 'req/s', 'p50', 'p99', 'note'];
const table = [header, header.map(() => '---'), ...rows]
  .map((cells) => `| ${cells.join(' | ')} |`)
  .join('\n');
const targetTable = [
  '| target | result | met |',
  '| --- | --- | --- |',
  ...targets.map(
    (target) => `| ${target.name} | ${target.detail} | ${target.met ? 'yes' : 'NO'} |`,
  ),
].join('\n');
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
const report = `## ${new Date().toISOString().slice(0, 10)}: ${machine}\n\nEach run ${DURATION_MS / 1000} s after a 1 s warm-up; emulator, gateway and load generator are separate processes on loopback.\n\n${table}\n\n${targetTable}\n`;
console.log(report);
writeFileSync(new URL('../../bench/RESULTS.latest.md', import.meta.url), report);
if (targets.some((target) => !target.met)) process.exitCode = 1;
