/**
 * The gateway as a real process: the built `dist/src/index.js` (npm test builds first), started the
 * way `npm start` starts it, with a clean environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { PolyvEmulator } from '../../emulator/index.js';

export const ENTRY = new URL('../../dist/src/index.js', import.meta.url).pathname;

/** Only what a fresh shell would have: no Polyv credentials leak in from the developer's env. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', ...extra };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** Starts the gateway and resolves once it logs its URL, with every log line so far. */
export async function startProcess(
  env: NodeJS.ProcessEnv,
  /** Options for node itself, e.g. `--max-old-space-size=256`. */
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string; lines: LogLine[] }> {
  const child = spawn(process.execPath, [...nodeArgs, ENTRY], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "gateway listening" line: ${JSON.stringify(lines)}`)),
      20_000,
    );
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      if (line.msg === 'gateway listening') {
        clearTimeout(timer);
        resolve(String(line.url).replace(/\/graphql$/, ''));
      }
    });
    child.once('exit', (code) =>
      reject(new Error(`exited with ${code}: ${JSON.stringify(lines)}`)),
    );
  });
  return { child, url, lines };
}

/** Runs the gateway expecting it to refuse to start; returns its exit code and output. */
export async function refusal(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

/** Environment for a gateway process serving an emulator as if it were Polyv. */
export function polyvEnv(
  emulator: PolyvEmulator,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return cleanEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    POLYV_BASE_URL: emulator.url,
    POLYV_APP_ID: emulator.credentials.appId,
    POLYV_APP_SECRET: emulator.credentials.appSecret,
    POLYV_USER_ID: emulator.credentials.userId,
    GATEWAY_AUTH: 'off',
    ...extra,
  });
}

/** Stops a gateway process and waits for it to exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
