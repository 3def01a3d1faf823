/**
 * The emulator alone under the bench's load: the dashboard's Polyv page (a channel's 100 latest
 * red packs with receives, ~260 kB), one signed GET repeated by the bench's load generator
 * (bench/loadgen.ts, autocannon in its own process, 10 connections, every answer compared with
 * the first, request id masked). Prints calls/s and the emulator's own CPU per call (/proc).
 *
 *   node dist-bench/bench/emulatorProbe.js [cli.js …]
 *
 * Each argument is an emulator build's cli.js (default: this checkout's dist/emulator/cli.js);
 * with several, they run in alternating rounds (EMULATOR_PROBE_ROUNDS, default 3), so a shared
 * machine's load falls on each alike. EMULATOR_PROBE_CPU_PROF=DIR writes each emulator's
 * `--cpu-prof` profile to DIR.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import got from 'got';
import { DEMO_CREDENTIALS } from '../emulator/index.js';
import { signedParams } from '../src/polyv/sign.js';
import { generateLoad } from './load.js';

const root = new URL('../../', import.meta.url).pathname;
const clis = process.argv.slice(2);
if (clis.length === 0) clis.push(`${root}dist/emulator/cli.js`);
const rounds = Number(process.env.EMULATOR_PROBE_ROUNDS ?? 3);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const profileDir = process.env.EMULATOR_PROBE_CPU_PROF;

async function probe(cli: string) {
  const args = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(process.execPath, [...args, cli, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const reader = createInterface({ input: child.stdout! });
    reader.on('line', (line) => {
      const found = line.match(/listening on (http:\/\/\S+)/)?.[1];
      if (found === undefined) return;
      reader.close();
      child.stdout!.resume();
      resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`${cli} exited with ${code}`)));
  });
  try {
    const params = new URLSearchParams(
      signedParams({ channelId: '2812610', pageNumber: 1, pageSize: 100 }, DEMO_CREDENTIALS),
    );
    const direct = `${url}/live/v4/channel/red-pack/statistics/list?${params}`;
    const page = await got(direct).text();
    return await generateLoad({
      url: direct,
      method: 'GET',
      expect: page,
      normalise: { pattern: '"requestId":"[^"]*"', replacement: '"requestId":""' },
      connections: 10,
      warmupMs,
      durationMs,
      targetPid: child.pid!,
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  }
}

console.log(
  `load average before: ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`,
);
for (let round = 1; round <= rounds; round++) {
  for (const cli of clis) {
    const result = await probe(cli);
    console.log(
      `round ${round} ${cli}: ${result.requests} calls, ${result.errors} failed / ${result.mismatches} wrong, ` +
        `${result.throughput.toFixed(0)} calls/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
        `emulator CPU ${result.targetCpuMs.toFixed(2)} ms/call, load generator ${result.loadgenCpuMs.toFixed(2)} ms/call`,
    );
  }
}
console.log(
  `load average after: ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`,
);
