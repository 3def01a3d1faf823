/** Per-request de-duplication and concurrency of upstream calls, counted at the emulator. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { cleanEnv, startProcess, stopProcess } from './support/process.js';
import { postGraphQL, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.emulator.resetCounters();
  stack.emulator.setLatency(0);
});

describe('DataLoader', () => {
  it('fetches a page once per request whatever aliases and fields ask for it', async () => {
    const response = await stack.graphql(`{
      a: channel(id: "2812610") { redPacks(first: 10) { totalCount } }
      b: channel(id: "2812610") { redPacks(first: 10) { edges { node { id amount { fen } } } } }
      c: channels(ids: ["2812610", "2812610"]) { redPacks(first: 10) { nodes { id } pageInfo { hasNextPage } } }
    }`);
    expect(response.errors).toBeUndefined();
    expect(stack.emulator.calls).toHaveLength(1);
  });

  it('shares income pages between the account-level and channel-level fields asking the same', async () => {
    const response = await stack.graphql(`{
      incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", channelId: "2812610", first: 5) { totalCount }
      channel(id: "2812610") { incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 5) { nodes { id } } }
    }`);
    expect(response.errors).toBeUndefined();
    expect(stack.emulator.calls).toHaveLength(1);
  });

  it('does not share pages between requests', async () => {
    const query = '{ channel(id: "2812610") { redPacks(first: 3) { totalCount } } }';
    await stack.graphql(query);
    await stack.graphql(query);
    expect(stack.emulator.calls).toHaveLength(2);
  });

  it('runs independent fetches concurrently: 20 channels, 20 calls in flight together', async () => {
    // Long enough that a busy machine still has all twenty in flight at once.
    stack.emulator.setLatency(1_000);
    const ids = Array.from({ length: 20 }, (_, index) => String(2812610 + index));
    const response = await stack.graphql<{
      channels: ({ redPacks: { totalCount: number } } | null)[];
    }>(`query($ids: [ID!]!) { channels(ids: $ids) { id redPacks { totalCount } } }`, { ids });
    expect(stack.emulator.calls).toHaveLength(20);
    expect(stack.emulator.maxInFlight).toBe(20);
    // The five demo channels answer; the other fifteen are not channels of this account.
    expect(
      response.data!.channels.slice(0, 5).map((channel) => channel!.redPacks.totalCount),
    ).toEqual([3500, 300, 40, 0, 5]);
    expect(response.errors).toHaveLength(15);
  });

  it('prints no warning in a real process when a request fans out to many slow calls', async () => {
    // A fan-out once left an abort listener per call on one shared AbortSignal ("11 abort
    // listeners added to [AbortSignal]"). Jest's sandbox hides process warnings, so this runs
    // `npm start`'s entry (gateway and built-in emulator in one process) and reads its stderr.
    const gateway = await startProcess(cleanEnv({ PORT: '0', HOST: '127.0.0.1' }));
    let stderr = '';
    gateway.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const emulatorUrl = gateway.lines.find((line) => typeof line.emulatorUrl === 'string')
        ?.emulatorUrl as string;
      await fetch(`${emulatorUrl}/__emulator/latency`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ms: 1_000 }),
      });
      const ids = Array.from({ length: 30 }, (_, index) => String(2812610 + index));
      const response = await postGraphQL(
        `${gateway.url}/graphql`,
        `query($ids: [ID!]!) { channels(ids: $ids) { id redPacks { totalCount } } }`,
        { ids },
      );
      expect(response.errors).toHaveLength(25);
      const stats = (await (await fetch(`${emulatorUrl}/__emulator/stats`)).json()) as {
        maxInFlight: number;
      };
      // The fan-out really had more than ten calls waiting at once.
      expect(stats.maxInFlight).toBeGreaterThan(10);
    } finally {
      await stopProcess(gateway.child);
    }
    expect(stderr).not.toMatch(/Warning/);
  });
});
