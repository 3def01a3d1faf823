/**
 * Issue 10's reproductions against the gateway as a real process (dist/: `npm run build`
 * first) with a 256 MB heap: it must stay up, give every attack a coded refusal or a bounded
 * answer, and answer an ordinary client meanwhile. Its peak RSS is printed.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { BIG_CHANNEL_ID } from '../emulator/data.js';
import { ErrorCode } from '../src/publicErrors.js';
import { polyvEnv, startProcess, stopProcess } from './support/process.js';
import { postGraphQL, type GraphQLResponse } from './support/stack.js';
import { channelIds, defaultsBomb, fragmentBomb } from './support/attacks.js';

const HEAP_MB = 256;

let emulator: PolyvEmulator;
let gateway: { child: ChildProcess; url: string };

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, bigChannelRedPacks: 20_000 });
  gateway = await startProcess(
    polyvEnv(emulator, {
      NODE_ENV: 'production',
      // Every attack must reach the gateway's own limits, not the per-client rate limits.
      GATEWAY_RATE_PER_SECOND: '100000',
      GATEWAY_RATE_BURST: '100000',
      POLYV_RATE_PER_SECOND: '100000',
      POLYV_RATE_BURST: '100000',
    }),
    [`--max-old-space-size=${HEAP_MB}`],
  );
}, 60_000);

afterAll(async () => {
  if (gateway) await stopProcess(gateway.child);
  await emulator?.close();
});

/** Peak resident set of the process so far, in MB (Linux: VmHWM). */
const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const codes = new Set<string>([...Object.values(ErrorCode)]);

it('survives every reproduction with a 256 MB heap, answering other clients meanwhile', async () => {
  const graphql = (query: string, variables?: Record<string, unknown>) =>
    postGraphQL<Record<string, unknown>>(`${gateway.url}/graphql`, query, variables);
  const quoted = (count: number) => channelIds(count).map((id) => `"${id}"`);
  const attacks: Record<string, string> = {
    'fragment bomb, 24 levels': fragmentBomb(24),
    'fragment bomb, 40 levels': fragmentBomb(40),
    '200 default ids, default page of 1000': defaultsBomb,
    '200 default ids with summaries': `query($ids: [ID!]! = [${quoted(200).join(',')}]) { channels(ids: $ids) { redPackSummary { count receiverCount topReceivers(first: 100) { user { nickname } } } } }`,
    '1,500 default ids': `query($ids: [ID!]! = [${quoted(1_500).join(',')}]) { channels(ids: $ids) { redPacks(first: 0) { totalCount } } }`,
    // Cheap to answer (a few fields a record), but 189 full pages fetched and held.
    '189 ids × a page of 1000': `{ channels(ids: [${quoted(189).join(',')}]) { redPacks(first: 1000) { nodes { id } } } }`,
    // Allowed, and as heavy as allowed gets: a page of 1000 with receives, and a 20-page summary.
    'a page of 1000 with receives': `{ channel(id: "${BIG_CHANNEL_ID}") { redPacks(first: 1000) { nodes { id typeLabel amount { amount } receives { user { nickname avatarUrl } amount { amount } receivedAt } } } } }`,
    'a 20,000-record summary': `{ channel(id: "${BIG_CHANNEL_ID}") { redPackSummary { count totalAmount { amount } receiverCount topReceivers(first: 100) { user { nickname } } } } }`,
  };
  const rounds = 6;
  const outcomes: { attack: string; response: GraphQLResponse }[] = [];
  const burst = Promise.all(
    Object.entries(attacks).flatMap(([attack, query]) =>
      Array.from({ length: rounds }, async () => {
        outcomes.push({ attack, response: await graphql(query) });
      }),
    ),
  );
  // Another client, meanwhile.
  const ordinary = await graphql(
    '{ channel(id: "2812610") { redPacks(first: 5) { totalCount nodes { id } } } }',
  );
  await burst;

  expect(gateway.child.exitCode).toBeNull();
  expect(ordinary.errors).toBeUndefined();
  expect(ordinary.status).toBe(200);

  const seen: Record<string, Record<string, number>> = {};
  for (const { attack, response } of outcomes) {
    const code = response.errors?.[0]?.extensions?.code;
    const outcome =
      code === undefined
        ? 'answered'
        : `${String(code)}${response.errors![0]!.extensions!.limit ? `/${String(response.errors![0]!.extensions!.limit)}` : ''}`;
    (seen[attack] ??= {})[outcome] = (seen[attack]![outcome] ?? 0) + 1;
    if (code !== undefined) expect(codes).toContain(code);
    expect(code).not.toBe('INTERNAL_SERVER_ERROR');
  }
  // The attacks are refused before execution; the allowed heavy queries are answered (or, when
  // every slot and queue place is taken, told to come back).
  for (const attack of Object.keys(attacks).slice(0, 6))
    expect(Object.keys(seen[attack]!)).toEqual([expect.stringMatching(/^QUERY_LIMIT_EXCEEDED\//)]);
  expect(Object.keys(seen['189 ids × a page of 1000']!)).toEqual([
    'QUERY_LIMIT_EXCEEDED/upstreamRecords',
  ]);
  expect(seen['a page of 1000 with receives']!.answered).toBeGreaterThan(0);
  expect(seen['a 20,000-record summary']!.answered).toBeGreaterThan(0);

  // Still up, and still answering.
  expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  const peak = peakRssMb(gateway.child.pid!);
  console.log(
    `outcomes: ${JSON.stringify(seen, null, 1)}\npeak RSS of the gateway (--max-old-space-size=${HEAP_MB}): ${peak.toFixed(0)} MB`,
  );
  expect(peak).toBeLessThan(HEAP_MB * 2);
}, 240_000);

/** The heap bound of docs/security.md (Limits), in MB, at this process's limits. */
/** docs/security.md, Limits: idle + page cache + records in flight × (held + answer) + summary pages. */
const heapBoundMb = ({ recordsInFlight, summaryPages }: Record<string, number>) =>
  IDLE_HEAP_MB + CACHE_MB + (recordsInFlight! * 2 * RED_PACK_KB) / 1024 + summaryPages! * 2.6;
/** Measured: the gateway's heap after start-up, and a red pack with 20 receives held. */
const IDLE_HEAP_MB = 40;
const RED_PACK_KB = 11.7;
const CACHE_MB = 64;

it('holds at most its record budget per operation, and the gate at most its records in flight: sixteen of the heaviest allowed at once', async () => {
  const graphql = (query: string) =>
    postGraphQL<Record<string, unknown>>(`${gateway.url}/graphql`, query);
  // Channels the emulator has (an unknown one is Polyv's "channel not found"), over and over.
  const known = [...channelIds(5), BIG_CHANNEL_ID];
  const ids = (count: number) =>
    Array.from({ length: count }, (_, index) => `"${known[index % known.length]!}"`).join(',');
  // The heaviest an operation may be at the defaults: a page of 1,000 of the big channel with
  // every field (close to the cost limit), or nearly its whole record budget (3,001) over 150 lists.
  // Each its own operation (an alias apart), so the response cache answers none of them.
  const heaviest = (index: number) =>
    `{ op${index}: channel(id: "${BIG_CHANNEL_ID}") { redPacks(first: 1000) { nodes { id type typeLabel status statusLabel allotType createdAt sender { openId nickname } amount { amount fen } balance { amount fen } receives { user { openId nickname avatarUrl } amount { amount fen } receivedAt } } } } }`;
  const spread = `{ channels(ids: [${ids(150)}]) { redPacks(first: 20) { nodes { id amount { amount } } } } }`;
  // Over it by one list, yet well under the cost limit: refused before it runs.
  const over = `{ channels(ids: [${ids(151)}]) { redPacks(first: 20) { nodes { id } } } }`;

  const heavy = Promise.all([
    ...Array.from({ length: 16 }, (_, index) => graphql(heaviest(index))),
    graphql(spread),
    graphql(over),
  ]);
  const ordinary = await graphql(
    '{ channel(id: "2812610") { redPacks(first: 5) { totalCount nodes { id } } } }',
  );
  const answers = await heavy;

  expect(gateway.child.exitCode).toBeNull();
  expect(ordinary.errors).toBeUndefined();
  for (const answer of answers.slice(0, 17)) {
    // Answered, or told to come back when every slot and queue place was taken.
    const code = answer.errors?.[0]?.extensions?.code;
    if (code !== 'SERVER_BUSY') expect(answer.errors).toBeUndefined();
  }
  expect(answers.slice(0, 16).some((answer) => answer.errors === undefined)).toBe(true);
  expect(answers[17]!.errors?.[0]?.extensions).toMatchObject({
    code: 'QUERY_LIMIT_EXCEEDED',
    limit: 'upstreamRecords',
    max: 3_001,
    actual: 3_020,
  });
  expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  const peak = peakRssMb(gateway.child.pid!);
  const bound = heapBoundMb({ recordsInFlight: 4_000, summaryPages: 20 });
  console.log(
    `peak RSS after sixteen operations of 1,000 records at once: ${peak.toFixed(0)} MB; ` +
      `heap bound (${IDLE_HEAP_MB} + ${CACHE_MB} + 4,000 × 2 × ${RED_PACK_KB} kB + 20 × 2.6 MB): ${bound.toFixed(0)} MB`,
  );
  expect(peak).toBeLessThan(HEAP_MB * 2);
}, 240_000);
