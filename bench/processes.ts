/** The emulator and gateways as separate processes, as they run in production. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DEMO_CREDENTIALS } from '../emulator/index.js';

const root = new URL('../../', import.meta.url).pathname;

/** Generous limits: the bench measures the gateway's overhead, not its protection of Polyv. */
export const UNTHROTTLED = {
  POLYV_RATE_PER_SECOND: '100000',
  POLYV_RATE_BURST: '100000',
  GATEWAY_RATE_PER_SECOND: '1000000',
  GATEWAY_RATE_BURST: '1000000',
  POLYV_MAX_CONCURRENCY: '64',
};

/**
 * The dashboard's query, every load's work: a channel's 100 latest red packs with receives and
 * money (the proxy, bench/proxy.ts, answers exactly this).
 */
export const DASHBOARD = `query Dashboard { channel(id: "2812610") { redPacks(first: 100) { totalCount nodes {
  id type typeLabel status createdAt sender { nickname } amount { amount fen currency } balance { amount fen }
  receives { user { openId nickname } amount { amount fen } receivedAt } } } } }`;

export interface Started {
  url: string;
  child: ChildProcess;
}

function waitForLine(
  child: ChildProcess,
  match: (line: string) => string | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const reader = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) =>
      reject(new Error(`exited with ${code}: ${lines.join('\n')}`));
    reader.on('line', (line) => {
      lines.push(line);
      const found = match(line);
      if (!found) return;
      // Past start, the rest (a gateway's line per request) is let through unread: reading
      // and parsing it here would load the cores the measured processes run on.
      reader.close();
      child.stdout!.resume();
      child.off('exit', onExit);
      resolve(found);
    });
    child.once('exit', onExit);
  });
}

export async function startEmulatorProcess(
  latencyMs: number,
  extraArgs: string[] = [],
): Promise<Started> {
  const child = spawn(
    process.execPath,
    [`${root}dist/emulator/cli.js`, '--port', '0', '--latency', String(latencyMs), ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await waitForLine(child, (line) => line.match(/listening on (http:\/\/\S+)/)?.[1]);
  return { url, child };
}

export async function startGatewayProcess(
  emulatorUrl: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Started> {
  const child = spawn(process.execPath, [...nodeArgs, `${root}dist/src/index.js`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      POLYV_BASE_URL: emulatorUrl,
      POLYV_APP_ID: DEMO_CREDENTIALS.appId,
      POLYV_APP_SECRET: DEMO_CREDENTIALS.appSecret,
      POLYV_USER_ID: DEMO_CREDENTIALS.userId,
      GATEWAY_AUTH: 'off',
      ...env,
    },
  });
  const url = await waitForLine(child, (line) => {
    try {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      return parsed.msg === 'gateway listening' ? parsed.url : undefined;
    } catch {
      return undefined;
    }
  });
  return { url, child };
}

/** The minimal proxy (bench/proxy.ts), the limit the gateway is measured against. */
export async function startProxyProcess(emulatorUrl: string): Promise<Started> {
  const child = spawn(process.execPath, [`${root}dist-bench/bench/proxy.js`, emulatorUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await waitForLine(child, (line) => line.match(/listening on (http:\/\/\S+)/)?.[1]);
  return { url, child };
}

/** A bare Node server replaying `answer` (bench/replay.ts), the limit of the warm path. */
export async function startReplayProcess(answer: string): Promise<Started> {
  const child = spawn(process.execPath, [`${root}dist-bench/bench/replay.js`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin!.end(answer);
  const url = await waitForLine(child, (line) => line.match(/listening on (http:\/\/\S+)/)?.[1]);
  return { url, child };
}

/** Resident memory of a process now (Linux VmRSS), in MB. */
export const rssMb = (child: ChildProcess): number => statusMb(child, 'VmRSS');

/** Peak resident memory of a process so far (Linux VmHWM), in MB. */
export const peakRssMb = (child: ChildProcess): number => statusMb(child, 'VmHWM');

function statusMb(child: ChildProcess, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

export async function stop(...processes: Started[]): Promise<void> {
  await Promise.all(
    processes.map(
      ({ child }) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Node arguments that let `heapAfterGcMb` read a gateway's heap (bench/heapProbe.ts). */
export const HEAP_PROBE = ['--expose-gc', '--import', `${root}dist-bench/bench/heapProbe.js`];

/** The heap a gateway started with HEAP_PROBE holds after a full GC, in MB. */
export function heapAfterGcMb(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('{"heapProbe"')) return;
      lines.close();
      const { heapProbe } = JSON.parse(line) as { heapProbe: { heapUsed: number } };
      resolve(heapProbe.heapUsed / 2 ** 20);
    });
    child.kill('SIGUSR2');
  });
}
