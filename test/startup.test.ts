/**
 * The gateway as `npm start` runs it: a child process of the built `dist/src/index.js` (npm test
 * builds first), with a clean environment. Expected data is computed independently from a
 * fresh copy of the emulator's seeded dataset.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createDemoDataset,
  demoLastDay,
  redPackBalanceFen,
  startEmulator,
} from '../emulator/index.js';
import { fenToDecimal } from '../src/domain/convert.js';
import {
  cleanEnv,
  ENTRY,
  polyvEnv,
  refusal,
  startProcess,
  stopProcess,
  type LogLine,
} from './support/process.js';
import { postGraphQL } from './support/stack.js';

function configFile(content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-config-')), 'gateway.yaml');
  writeFileSync(file, content);
  return file;
}

/** The day `days` after a yyyy-MM-dd day. */
const dayAfter = (day: string, days: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

describe('npm start without credentials', () => {
  let gateway: Awaited<ReturnType<typeof startProcess>>;
  // As a newcomer gets it: the demo data ends yesterday (China Standard Time).
  const data = createDemoDataset(42, undefined, { lastDay: demoLastDay(Date.now()) });

  beforeAll(async () => {
    gateway = await startProcess(cleanEnv({ PORT: '0', HOST: '127.0.0.1' }));
  });
  afterAll(() => {
    if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
  });

  it('says loudly, first, that it serves the built-in emulator', () => {
    expect(gateway.lines[0]).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/NO POLYV CREDENTIALS.*emulator/),
    });
    expect(gateway.lines[1]!.msg).toMatch(/POLYV_APP_ID/);
  });

  it('names every URL worth opening in its "listening" line, and each answers', async () => {
    const listening = gateway.lines.find((line) => line.msg === 'gateway listening')!;
    const base = gateway.url;
    expect(listening).toMatchObject({
      url: `${base}/graphql`,
      landing: `${base}/`,
      playground: `${base}/graphql`,
      dashboard: `${base}/dashboard`,
      health: `${base}/healthz`,
      ready: `${base}/readyz`,
      metrics: `${base}/metrics`,
    });
    for (const key of ['landing', 'playground', 'dashboard', 'health', 'ready', 'metrics']) {
      const response = await fetch(String(listening[key]), { headers: { accept: 'text/html' } });
      expect({ key, status: response.status }).toEqual({ key, status: 200 });
    }
  });

  it("answers a channel's red packs with receives, exactly the emulator's data", async () => {
    const response = await postGraphQL<{
      channel: { redPacks: { totalCount: number; nodes: Record<string, unknown>[] } };
    }>(
      `${gateway.url}/graphql`,
      `{ channel(id: "2812610") { redPacks(first: 3) { totalCount nodes {
          id sessionId createdAt typeLabel statusLabel allotTypeLabel receiveCount
          sender { openId nickname } amount { amount fen currency } balance { amount }
          receives { redPackId user { openId nickname avatarUrl } amount { amount fen } receivedAt }
        } } } }`,
    );
    expect(response.errors).toBeUndefined();
    const expected = data.redPacks
      .get('2812610')!
      .slice(0, 3)
      .map((pack) => ({
        id: pack.redPackId,
        sessionId: pack.channelSessionId,
        createdAt: new Date(pack.createdTime).toISOString(),
        typeLabel: pack.redPackType,
        statusLabel: pack.status,
        allotTypeLabel: pack.allotType,
        receiveCount: pack.receives.length,
        sender: { openId: pack.userId, nickname: pack.nickName },
        amount: { amount: fenToDecimal(pack.amountFen), fen: pack.amountFen, currency: 'CNY' },
        balance: { amount: fenToDecimal(redPackBalanceFen(pack)) },
        receives: pack.receives.map((receive) => ({
          redPackId: receive.redPackId,
          user: { openId: receive.userId, nickname: receive.nickName, avatarUrl: receive.avatar },
          amount: { amount: fenToDecimal(receive.amountFen), fen: receive.amountFen },
          receivedAt: new Date(receive.createdTime).toISOString(),
        })),
      }));
    expect(response.data!.channel.redPacks).toEqual({ totalCount: 3500, nodes: expected });
  });

  it("answers account income for a date range, exactly the emulator's data", async () => {
    // A week two months into the data: 1 to 7 October when it ends on 19 November.
    const startDate = dayAfter(data.period.firstDay, 61);
    const endDate = dayAfter(startDate, 6);
    const response = await postGraphQL<{
      incomeRecords: { totalCount: number; nodes: Record<string, unknown>[] };
    }>(
      `${gateway.url}/graphql`,
      `{ incomeRecords(startDate: "${startDate}", endDate: "${endDate}", first: 1000) { totalCount nodes {
          id accountId channel { id } amount { amount fen } giftCount payTypeLabel paidAt payer { openId nickname } wechatAppId
        } } }`,
    );
    expect(response.errors).toBeUndefined();
    const from = Date.parse(`${startDate}T00:00:00+08:00`);
    const to = Date.parse(`${dayAfter(endDate, 1)}T00:00:00+08:00`);
    const expected = data.income
      .filter((record) => record.payTime >= from && record.payTime < to)
      .map((record) => ({
        id: record.outTradeNo,
        accountId: data.userId,
        channel: { id: record.channelId },
        amount: { amount: fenToDecimal(record.amountFen), fen: record.amountFen },
        giftCount: record.goodNum,
        payTypeLabel: record.payTypeName,
        paidAt: new Date(record.payTime).toISOString(),
        payer: { openId: record.openId, nickname: record.viewerName },
        wechatAppId: record.weixinAppId,
      }));
    expect(expected.length).toBeGreaterThan(5);
    expect(response.data!.incomeRecords).toEqual({ totalCount: expected.length, nodes: expected });
  });

  it('serves demo data ending yesterday, and names the period and the control API', async () => {
    const yesterday = demoLastDay(Date.now());
    expect(data.period.lastDay).toBe(yesterday);
    const banner = gateway.lines[0]!;
    const control = `${String(banner.emulatorUrl)}/__emulator/`;
    expect(banner).toMatchObject({
      emulatorControl: control,
      demoData: `${data.period.firstDay} to ${yesterday}`,
      live: [],
    });
    const listening = gateway.lines.find((line) => line.msg === 'gateway listening')!;
    expect(listening.emulatorControl).toBe(control);
    const index = (await (await fetch(`${gateway.url}/`)).json()) as {
      demo: { firstDay: string; lastDay: string; control: string };
    };
    expect(index.demo).toMatchObject({
      firstDay: data.period.firstDay,
      lastDay: yesterday,
      control,
    });
    const stats = await fetch(`${control}stats`);
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ live: [] });
  });

  it('stops cleanly on SIGTERM', async () => {
    gateway.child.kill('SIGTERM');
    const [code] = (await once(gateway.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

describe('npm start with EMULATOR_LIVE', () => {
  it('makes the demo channel live: new red packs, sent now, on the channel named', async () => {
    const { child, url, lines } = await startProcess(
      cleanEnv({
        PORT: '0',
        HOST: '127.0.0.1',
        EMULATOR_LIVE: '2812614',
        EMULATOR_LIVE_EVERY_MS: '50',
      }),
    );
    try {
      expect(lines[0]).toMatchObject({ live: ['2812614'] });
      const control = String(lines[0]!.emulatorControl);
      const head = async () =>
        (
          await postGraphQL<{
            channel: { redPacks: { totalCount: number; nodes: { createdAt: string }[] } };
          }>(
            `${url}/graphql`,
            '{ channel(id: "2812614") { redPacks(first: 1) { totalCount nodes { createdAt } } } }',
          )
        ).data!.channel.redPacks;
      const started = Date.now();
      let now = await head();
      while (now.totalCount <= 5 && Date.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        now = await head();
      }
      // The channel's five demo red packs, and live ones on top, sent a moment ago.
      expect(now.totalCount).toBeGreaterThan(5);
      const sentAt = Date.parse(now.nodes[0]!.createdAt);
      expect(Math.abs(Date.now() - sentAt)).toBeLessThan(60_000);
      const stats = (await (await fetch(`${control}stats`)).json()) as {
        live: { channelId: string; everyMs: number }[];
      };
      expect(stats.live).toEqual([expect.objectContaining({ channelId: '2812614', everyMs: 50 })]);
    } finally {
      await stopProcess(child);
    }
  });
});

describe('configuration refusals', () => {
  it.each([
    [{ POLYV_APP_ID: 'abc' }, /POLYV_APP_SECRET: required because POLYV_APP_ID is set/],
    [{ POLYV_APP_SECRET: 'xyz' }, /POLYV_APP_ID: required because POLYV_APP_SECRET is set/],
    [{ POLYV_APP_ID: 'abc', POLYV_APP_SECRET: 'xyz' }, /POLYV_USER_ID: required/],
    // The message is a JSON log line: the value's quotes are escaped there.
    [{ PORT: 'eighty' }, /PORT: must be an integer from 0 to 65535; got \\"eighty\\"/],
    [{ POLYV_BASE_URL: 'ftp://example' }, /POLYV_BASE_URL: must be an http\(s\) URL/],
    [
      { POLYV_TIMEOUT_MS: '-5' },
      /POLYV_TIMEOUT_MS: must be an integer of at least 1; got \\"-5\\"/,
    ],
    // No demo data in production unless asked for: a deployment missing its credentials stops.
    [{ NODE_ENV: 'production' }, /required in production .*POLYV_EMULATOR=on/],
    // The logger starts at the default level, so a bad level is logged as any bad setting.
    [
      { LOG_LEVEL: 'verbose' },
      /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace or silent; got \\"verbose\\"/,
    ],
    [
      { GATEWAY_CONFIG_FILE: configFile('PORT: eighty\n') },
      /PORT \(in .*\.yaml\): must be an integer/,
    ],
    // The demo's settings: checked by the emulator when it starts, reported by name.
    [{ EMULATOR_LIVE: '42' }, /EMULATOR_LIVE: startLive: 42 is not a channel of the demo account/],
    [
      { EMULATOR_LIVE: '2812610', EMULATOR_LIVE_EVERY_MS: '5' },
      /EMULATOR_LIVE, EMULATOR_LIVE_EVERY_MS: everyMs must be a number from 10 to 600000: 5/,
    ],
    [{ EMULATOR_LAST_DAY: '2026-02-30' }, /EMULATOR_LAST_DAY: must be a real calendar day/],
    [
      {
        POLYV_APP_ID: 'abc',
        POLYV_APP_SECRET: 'xyz',
        POLYV_USER_ID: 'u',
        EMULATOR_LIVE: '2812610',
      },
      /EMULATOR_LIVE: only for the built-in emulator, and Polyv credentials are set/,
    ],
  ])('refuses %j and names the variable', async (env, message) => {
    const { code, output } = await refusal(cleanEnv({ PORT: '0', ...env }));
    expect(code).toBe(1);
    expect(output).toMatch(message);
    expect(output).not.toContain('xyz');
  });
});

describe('a configuration file', () => {
  it('applies its log level once read, and deprecated settings are logged as warnings', async () => {
    const file = configFile('LOG_LEVEL: debug\nPOLYV_CACHE_TTL_RED_PACKS_S: 5\n');
    const { child, url, lines } = await startProcess(
      cleanEnv({ PORT: '0', HOST: '127.0.0.1', GATEWAY_CONFIG_FILE: file }),
    );
    try {
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'POLYV_CACHE_TTL_RED_PACKS_S is deprecated: use POLYV_CACHE_TTL_S=redPackStatistics=<seconds>',
        }),
      );
      await postGraphQL(`${url}/graphql`, '{ channel(id: "2812610") { redPacks { totalCount } } }');
      // Polyv calls are logged at debug only: the file's level is the one in force.
      while (!lines.some((line) => line.msg === 'polyv call'))
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(lines.find((line) => line.msg === 'polyv call')!.level).toBe(20);
    } finally {
      await stopProcess(child);
    }
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, finishes the request in flight, then exits 0', async () => {
    const emulator = await startEmulator({ port: 0, latencyMs: 1_000 });
    try {
      const { child, url } = await startProcess(polyvEnv(emulator));
      const inFlight = postGraphQL<{ channel: unknown }>(
        `${url}/graphql`,
        '{ channel(id: "2812614") { redPacks { totalCount } } }',
      );
      // Let the request reach the (slow) upstream, then ask the gateway to stop.
      while (emulator.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      child.kill('SIGTERM');
      const exited = once(child, 'exit');
      let settled = false;
      void inFlight.finally(() => (settled = true));
      // New connections are refused soon after the signal (however busy the machine), while
      // the request in flight is still waiting for Polyv.
      const refused = async () => {
        for (;;) {
          const answered = await fetch(`${url}/healthz`).then(
            () => true,
            () => false,
          );
          if (!answered) return settled;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      expect(await refused()).toBe(false);

      expect((await inFlight).data).toEqual({ channel: { redPacks: { totalCount: 5 } } });
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});

describe('a port already taken', () => {
  it('exits 1 at once, saying why, and holds nothing (not even its emulator’s port)', async () => {
    const squatter = net.createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const port = (squatter.address() as net.AddressInfo).port;
      const child = spawn(process.execPath, [ENTRY], {
        env: cleanEnv({ PORT: String(port), HOST: '127.0.0.1' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const lines: LogLine[] = [];
      let fatalAt = 0;
      createInterface({ input: child.stdout }).on('line', (text) => {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        if (line.level === 60) fatalAt = performance.now();
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      const lingeredMs = performance.now() - fatalAt;

      expect(code).toBe(1);
      expect(stderr).toBe('');
      const fatal = lines.find((line) => line.level === 60);
      expect(fatal).toMatchObject({ err: { code: 'EADDRINUSE' } });
      expect(fatalAt).toBeGreaterThan(0);
      // Measured at a few ms; a second is the promise.
      expect(lingeredMs).toBeLessThan(1_000);
      // It had started its emulator; that port is free again.
      const emulatorUrl = String(lines.find((line) => line.emulatorUrl)?.emulatorUrl);
      await expect(fetch(`${emulatorUrl}/`)).rejects.toThrow();
    } finally {
      squatter.close();
    }
  });
});

describe('hostile requests to the real process', () => {
  it('answers deep JSON, bad bodies and unknown paths as JSON, with nothing on stderr', async () => {
    const { child, url, lines } = await startProcess(cleanEnv({ PORT: '0', HOST: '127.0.0.1' }));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const deep = `${'['.repeat(40_000)}${']'.repeat(40_000)}`;
      const requests: [string, RequestInit][] = [
        [
          '/graphql',
          { method: 'POST', body: `{"query":"{ __typename }","variables":{"a":${deep}}}` },
        ],
        [
          '/graphql',
          { method: 'POST', body: `{"query":"{ __typename }","extensions":{"a":${deep}}}` },
        ],
        ['/graphql', { method: 'POST', body: '{"query": ' }],
        ['/nowhere', {}],
      ];
      for (const [path, init] of requests) {
        const response = await fetch(`${url}${path}`, {
          ...init,
          headers: { 'content-type': 'application/json' },
        });
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
        expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      }
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    } finally {
      await stopProcess(child);
    }
    expect(stderr).toBe('');
  });
});
