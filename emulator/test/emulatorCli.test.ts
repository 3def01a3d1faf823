/**
 * `npm run emulator` as a person runs it (issue 13, point 5): `--help` says what it takes and
 * how to point a gateway at it, an unknown option says where to look, and a gateway started
 * the way `--help` says serves the standalone emulator's data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from '@jest/globals';
import { cleanEnv, startProcess, stopProcess } from '../../test/support/process.js';
import { postGraphQL } from '../../test/support/stack.js';
import { createDemoDataset, demoLastDay } from '../index.js';

const CLI = new URL('../../dist/emulator/cli.js', import.meta.url).pathname;

async function run(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/**
 * Starts the standalone emulator; resolves with its URL, the credentials it prints and its
 * banner (`bannerLines` long: three, and one more for each option it announces).
 */
async function startCli(
  args: string[] = [],
  bannerLines = 3,
): Promise<{
  child: ChildProcess;
  url: string;
  credentials: Record<string, string>;
  lines: string[];
}> {
  const child = spawn(process.execPath, [CLI, '--port', '0', ...args], { env: cleanEnv() });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    lines.push(line);
    if (lines.length === bannerLines) break;
  }
  const url = /listening on (http:\/\/\S+)/.exec(lines[0] ?? '')?.[1];
  const credentials = Object.fromEntries(
    [...(lines[1] ?? '').matchAll(/(\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!]),
  );
  if (!url) throw new Error(`no URL in ${JSON.stringify(lines)}`);
  return { child, url, credentials, lines };
}

describe('npm run emulator', () => {
  it('--help lists every option and how to point a gateway at it', async () => {
    const { code, stdout, stderr } = await run(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const option of [
      '--port',
      '--host',
      '--latency',
      '--seed',
      '--big-channel-red-packs',
      '--live CHANNEL',
      '--live-every MS',
      'EMULATOR_LIVE',
      'EMULATOR_LIVE_EVERY_MS',
      '--last-day YYYY-MM-DD',
      'EMULATOR_LAST_DAY',
    ])
      expect(stdout).toContain(option);
    expect(stdout).toMatch(/POLYV_BASE_URL=\S+ POLYV_APP_ID=\S+ POLYV_APP_SECRET=\S+/);
    expect(stdout).toContain('GATEWAY_AUTH=off npm start');
  });

  it('refuses an unknown option, naming it and --help', async () => {
    const { code, stderr } = await run(['--bogus']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/Unknown option '--bogus' \(see --help\)/);
  });

  it('--live makes red-pack activity on a channel until it is stopped', async () => {
    const emulator = await startCli(['--live', '2812614', '--live-every', '20'], 4);
    try {
      expect(emulator.lines[3]).toBe('  live red-pack activity on channel 2812614 every 20 ms');
      const live = async () =>
        (
          (await (await fetch(`${emulator.url}/__emulator/stats`)).json()) as {
            live: { channelId: string; everyMs: number; ticks: number }[];
          }
        ).live;
      const deadline = Date.now() + 5000;
      while (((await live())[0]?.ticks ?? 0) < 3 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await live()).toEqual([
        expect.objectContaining({ channelId: '2812614', everyMs: 20, ticks: expect.any(Number) }),
      ]);
      expect((await live())[0]!.ticks).toBeGreaterThanOrEqual(3);
    } finally {
      await stopProcess(emulator.child);
    }
    expect(emulator.child.exitCode).toBe(0);
  });

  it('serves demo data ending yesterday (CST), or on the day --last-day names, and says which', async () => {
    const yesterday = demoLastDay(Date.now());
    for (const [args, first, last] of [
      [[], createDemoDataset(42, undefined, { lastDay: yesterday }).period.firstDay, yesterday],
      [['--last-day', '2026-11-19'], '2026-08-01', '2026-11-19'],
    ] as const) {
      const emulator = await startCli([...args]);
      try {
        expect(emulator.lines[0]).toBe(
          `Polyv emulator listening on ${emulator.url} (demo data ${first} to ${last})`,
        );
        expect(emulator.lines[2]).toBe(`  control API: ${emulator.url}/__emulator/stats`);
      } finally {
        await stopProcess(emulator.child);
      }
    }
    const bad = await run(['--port', '0', '--last-day', '2026-02-30']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /lastDay must be a real calendar day written yyyy-MM-dd: 2026-02-30/,
    );
  });

  it('refuses --live on a channel the demo account does not have, and --live-every alone', async () => {
    const unknown = await run(['--port', '0', '--live', '42']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/42 is not a channel of the demo account/);
    const alone = await run(['--port', '0', '--live-every', '500']);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/--live-every needs --live CHANNEL/);
  });

  it('serves a gateway started the way --help says', async () => {
    const emulator = await startCli();
    try {
      const { appId, appSecret, userId } = emulator.credentials;
      const gateway = await startProcess(
        cleanEnv({
          PORT: '0',
          HOST: '127.0.0.1',
          POLYV_BASE_URL: emulator.url,
          POLYV_APP_ID: appId!,
          POLYV_APP_SECRET: appSecret!,
          POLYV_USER_ID: userId!,
          GATEWAY_AUTH: 'off',
        }),
      );
      try {
        // Real credentials: the gateway serves "Polyv" and does not start its own emulator.
        expect(gateway.lines.some((line) => typeof line.emulatorUrl === 'string')).toBe(false);
        const answer = await postGraphQL<{ channel: { redPacks: { totalCount: number } } }>(
          `${gateway.url}/graphql`,
          '{ channel(id: "2812610") { redPacks(first: 1) { totalCount } } }',
        );
        expect(answer.errors).toBeUndefined();
        expect(answer.data!.channel.redPacks.totalCount).toBeGreaterThan(0);
        const stats = (await (await fetch(`${emulator.url}/__emulator/stats`)).json()) as {
          totalCalls: number;
        };
        expect(stats.totalCalls).toBeGreaterThan(0);
      } finally {
        await stopProcess(gateway.child);
      }
    } finally {
      await stopProcess(emulator.child);
    }
  });
});
