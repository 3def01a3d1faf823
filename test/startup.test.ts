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
import { createDemoDataset, redPackBalanceFen, startEmulator } from '../emulator/index.js';
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

describe('npm start without credentials', () => {
  let gateway: Awaited<ReturnType<typeof startProcess>>;
  const data = createDemoDataset();

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
    const response = await postGraphQL<{
      incomeRecords: { totalCount: number; nodes: Record<string, unknown>[] };
    }>(
      `${gateway.url}/graphql`,
      `{ incomeRecords(startDate: "2026-10-01", endDate: "2026-10-07", first: 1000) { totalCount nodes {
          id accountId channel { id } amount { amount fen } giftCount payTypeLabel paidAt payer { openId nickname } wechatAppId
        } } }`,
    );
    expect(response.errors).toBeUndefined();
    const from = Date.parse('2026-10-01T00:00:00+08:00');
    const to = Date.parse('2026-10-08T00:00:00+08:00');
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

  it('stops cleanly on SIGTERM', async () => {
    gateway.child.kill('SIGTERM');
    const [code] = (await once(gateway.child, 'exit')) as [number | null];
    expect(code).toBe(0);
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
