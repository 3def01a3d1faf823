/**
 * The cold path (caches off, 0 ms upstream) or the warm one (response cache) of several gateway
 * variants side by side with their limit, in rounds that alternate them so that a busy machine
 * weighs on all alike: for trying an optimisation or a Node flag before it goes in.
 *
 *   npx tsc -p tsconfig.bench.json && VARIANTS='[{"name":"semi 64","nodeArgs":["--max-semi-space-size=64"]}]' \
 *     node dist-bench/bench/variants.js [cold|warm]
 *
 * A variant is { name, nodeArgs?, env? }; "default" is always measured first. With
 * nodeArgs ["--cpu-prof", "--cpu-prof-dir=…"] a variant writes its profile when it stops.
 */
import got from 'got';
import { generateLoad, type LoadResult } from './load.js';
import {
  DASHBOARD,
  peakRssMb,
  rssMb,
  startEmulatorProcess,
  startGatewayProcess,
  startProxyProcess,
  startReplayProcess,
  stop,
  UNTHROTTLED,
  type Started,
} from './processes.js';

interface Variant {
  name: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

const mode = process.argv[2] === 'warm' ? 'warm' : 'cold';
const variants: Variant[] = [
  { name: 'default' },
  ...(JSON.parse(process.env.VARIANTS ?? '[]') as Variant[]),
];
const rounds = Number(process.env.ROUNDS ?? 2);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const SETTINGS = { ...UNTHROTTLED, GATEWAY_CACHE: mode === 'cold' ? 'off' : 'on' };

const emulator = await startEmulatorProcess(0);
const proxy = await startProxyProcess(emulator.url);
const answer = await got.post(proxy.url, { json: { query: DASHBOARD } }).text();
const limit = mode === 'cold' ? proxy : await startReplayProcess(answer);
const load = (server: Started) =>
  generateLoad({
    url: server.url,
    method: 'POST',
    body: JSON.stringify({ query: DASHBOARD }),
    expect: answer,
    connections: 10,
    warmupMs,
    durationMs,
    targetPid: server.child.pid!,
  });
const line = (name: string, result: LoadResult, peak: string, vs?: LoadResult) =>
  console.log(
    [
      name.padEnd(28),
      `${result.throughput.toFixed(0).padStart(6)} req/s`,
      `p50 ${result.p50} ms`.padEnd(12),
      `p99 ${result.p99} ms`.padEnd(12),
      `CPU ${result.targetCpuMs.toFixed(2)} ms/req`,
      peak,
      vs ? `${(result.throughput / vs.throughput).toFixed(2)}× the limit` : '',
      result.errors + result.mismatches > 0
        ? `${result.errors} failed, ${result.mismatches} wrong`
        : '',
    ].join('  '),
  );

try {
  console.log(`${mode} path, 0 ms upstream, ${durationMs / 1000} s after ${warmupMs / 1000} s`);
  for (let round = 1; round <= rounds; round++) {
    const base = await load(limit);
    line(`round ${round}: ${mode === 'cold' ? 'proxy' : 'replay'}`, base, '');
    for (const variant of variants) {
      const gateway = await startGatewayProcess(
        emulator.url,
        { ...SETTINGS, ...variant.env },
        variant.nodeArgs,
      );
      const idle = rssMb(gateway.child);
      try {
        const result = await load(gateway);
        line(
          `round ${round}: ${variant.name}`,
          result,
          `idle ${idle.toFixed(0)} MB, peak ${peakRssMb(gateway.child).toFixed(0)} MB`,
          base,
        );
      } finally {
        await stop(gateway);
      }
    }
  }
} finally {
  await stop(...new Set([proxy, limit, emulator]));
}
