/**
 * Streamed exports over real HTTP against the emulator: every row and every total equals what
 * the GraphQL connections and summaries of the same range answer, to the fen; spreadsheet
 * hygiene (BOM, CRLF, RFC 4180 quoting read back by csv-parse, formulas neutralised); the same
 * rules as queries (keys and channel scope before any Polyv call, budgets, exports in flight);
 * and failure part way is an incomplete transfer, never a file that looks whole.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import { BIG_CHANNEL_ID } from '../emulator/index.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { startStack, type GraphQLResponse, type Stack } from './support/stack.js';

/** With keys off, a GET must show it is no cross-site request (as for GET /graphql). */
const PREFLIGHT = { 'apollo-require-preflight': 'true' };

interface Money {
  amount: string;
  fen: number;
  currency: string;
}
interface User {
  openId: string;
  nickname: string | null;
  avatarUrl: string | null;
}
interface Receive {
  redPackId: string;
  user: User;
  amount: Money;
  receivedAt: string;
}
interface RedPack {
  id: string;
  channel: { id: string };
  sessionId: string | null;
  sender: User;
  amount: Money;
  balance: Money;
  allotType: string;
  allotTypeLabel: string;
  status: string;
  statusLabel: string;
  type: string;
  typeLabel: string;
  createdAt: string;
  receives: Receive[];
  receiveCount: number;
}
interface IncomeRecord {
  id: string;
  channel: { id: string };
  accountId: string;
  amount: Money;
  giftCount: number | null;
  payType: string;
  payTypeLabel: string;
  payer: User;
  paidAt: string;
  wechatAppId: string | null;
}
interface Connection<T> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: T[];
}

const MONEY = 'amount fen currency';
const USER = 'openId nickname avatarUrl';
const RECEIVE = `redPackId user { ${USER} } amount { ${MONEY} } receivedAt`;
const RED_PACK = `id channel { id } sessionId sender { ${USER} } amount { ${MONEY} } balance { ${MONEY} }
  allotType allotTypeLabel status statusLabel type typeLabel createdAt receives { ${RECEIVE} } receiveCount`;
const INCOME = `id channel { id } accountId amount { ${MONEY} } giftCount payType payTypeLabel payer { ${USER} } paidAt wechatAppId`;

const RED_PACKS = `query ($channel: ID!, $sessionId: ID, $startTime: DateTime, $endTime: DateTime, $after: String) {
  channel(id: $channel) {
    redPacks(first: 500, after: $after, sessionId: $sessionId, startTime: $startTime, endTime: $endTime) {
      totalCount pageInfo { hasNextPage endCursor } nodes { ${RED_PACK} }
    }
  }
}`;
const RED_PACK_SUMMARY = `query ($channel: ID!, $sessionId: ID, $startTime: DateTime, $endTime: DateTime) {
  channel(id: $channel) {
    redPackSummary(sessionId: $sessionId, startTime: $startTime, endTime: $endTime) {
      count totalAmount { fen } totalReceived { fen } totalBalance { fen } receiveCount
    }
  }
}`;
const INCOME_RECORDS = `query ($startDate: Date!, $endDate: Date!, $channelId: ID, $after: String) {
  incomeRecords(startDate: $startDate, endDate: $endDate, channelId: $channelId, first: 1000, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { ${INCOME} }
  }
  incomeSummary(startDate: $startDate, endDate: $endDate, channelId: $channelId) { count total { fen } }
}`;

interface RedPackFilter {
  channelId: string;
  sessionId?: string;
  from?: string;
  to?: string;
}
interface IncomeFilter {
  startDate: string;
  endDate: string;
  channelId?: string;
}

/** The GraphQL variables of an export's red-pack filter: the same CST days as instants. */
const redPackVariables = ({ channelId, sessionId, from, to }: RedPackFilter) => ({
  channel: channelId,
  sessionId,
  startTime: from ? `${from}T00:00:00+08:00` : undefined,
  endTime: to ? `${to}T23:59:59.999+08:00` : undefined,
});

async function allRedPacks(stack: Stack, filter: RedPackFilter): Promise<RedPack[]> {
  const nodes: RedPack[] = [];
  let after: string | null = null;
  for (;;) {
    const answer: GraphQLResponse<{ channel: { redPacks: Connection<RedPack> } }> =
      await stack.graphql(RED_PACKS, { ...redPackVariables(filter), after });
    expect(answer.errors).toBeUndefined();
    const page: Connection<RedPack> = answer.data!.channel.redPacks;
    nodes.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

async function redPackSummary(stack: Stack, filter: RedPackFilter) {
  const answer = await stack.graphql<{
    channel: {
      redPackSummary: {
        count: number;
        totalAmount: { fen: number };
        totalReceived: { fen: number };
        totalBalance: { fen: number };
        receiveCount: number;
      };
    };
  }>(RED_PACK_SUMMARY, redPackVariables(filter));
  expect(answer.errors).toBeUndefined();
  return answer.data!.channel.redPackSummary;
}

async function allIncome(stack: Stack, filter: IncomeFilter) {
  const nodes: IncomeRecord[] = [];
  let after: string | null = null;
  for (;;) {
    const answer: GraphQLResponse<{
      incomeRecords: Connection<IncomeRecord>;
      incomeSummary: { count: number; total: { fen: number } };
    }> = await stack.graphql(INCOME_RECORDS, { ...filter, after });
    expect(answer.errors).toBeUndefined();
    nodes.push(...answer.data!.incomeRecords.nodes);
    if (!answer.data!.incomeRecords.pageInfo.hasNextPage)
      return { nodes, summary: answer.data!.incomeSummary };
    after = answer.data!.incomeRecords.pageInfo.endCursor;
  }
}

interface Download {
  status: number;
  headers: Headers;
  text: string;
}

const exportUrl = (stack: Stack, list: string, parameters: Record<string, string | undefined>) => {
  const query = new URLSearchParams(
    Object.entries(parameters).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return `${stack.gateway.url}/export/${list}.csv?${query}`;
};

async function download(
  stack: Stack,
  list: string,
  parameters: Record<string, string | undefined>,
  headers: Record<string, string> = PREFLIGHT,
): Promise<Download> {
  const response = await fetch(exportUrl(stack, list, parameters), { headers });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, text: bytes.toString('utf8') };
}

/** The CSV's rows under its header, read by csv-parse (RFC 4180, BOM, CRLF). */
function csvOf(text: string): { header: string[]; rows: string[][] } {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const records = parse(text, { bom: true, record_delimiter: '\r\n' }) as string[][];
  return { header: records[0]!, rows: records.slice(1) };
}

const linesOf = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

/** An exact decimal string as integer fen, by its digits (never a float). */
function fenOf(decimal: string): number {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(decimal);
  if (!match) throw new Error(`not a two-decimal amount: ${decimal}`);
  const fen = Number(match[2]) * 100 + Number(match[3]);
  return match[1] === '-' ? -fen : fen;
}
const sumFen = (decimals: string[]) => decimals.reduce((sum, amount) => sum + fenOf(amount), 0);

/**
 * CST wall-clock time as Intl writes it (the dashboard's way): an oracle independent of ours,
 * with the milliseconds when there are any.
 */
const CST_FORMAT = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Shanghai',
  dateStyle: 'short',
  timeStyle: 'medium',
});
const cst = (iso: string) => {
  const ms = new Date(iso).getMilliseconds();
  const time = CST_FORMAT.format(new Date(iso));
  return ms === 0 ? time : `${time}.${String(ms).padStart(3, '0')}`;
};
/** Text cells as a spreadsheet-safe export writes them. */
const safe = (text: string | null) =>
  text === null ? '' : /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/.test(text) ? `'${text}` : text;

const RED_PACK_HEADER = [
  'Red pack ID',
  'Created at (CST UTC+8)',
  'Channel ID',
  'Session ID',
  'Type',
  'Type label',
  'Status',
  'Status label',
  'Allot type',
  'Allot type label',
  'Sender nickname',
  'Sender openId',
  'Amount (CNY)',
  'Balance (CNY)',
  'Received (CNY)',
  'Receive count',
];
const redPackRow = (r: RedPack) => [
  safe(r.id),
  cst(r.createdAt),
  safe(r.channel.id),
  safe(r.sessionId),
  r.type,
  safe(r.typeLabel),
  r.status,
  safe(r.statusLabel),
  r.allotType,
  safe(r.allotTypeLabel),
  safe(r.sender.nickname),
  safe(r.sender.openId),
  r.amount.amount,
  r.balance.amount,
  // Received: added up by the test from the receives' own decimals.
  (() => {
    const fen = sumFen(r.receives.map((receive) => receive.amount.amount));
    return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
  })(),
  String(r.receiveCount),
];
const RECEIVE_HEADER = [
  'Red pack ID',
  'Receiver nickname',
  'Receiver openId',
  'Amount (CNY)',
  'Received at (CST UTC+8)',
];
const receiveRow = (r: Receive) => [
  safe(r.redPackId),
  safe(r.user.nickname),
  safe(r.user.openId),
  r.amount.amount,
  cst(r.receivedAt),
];
const INCOME_HEADER = [
  'Order ID',
  'Paid at (CST UTC+8)',
  'Channel ID',
  'Account ID',
  'Pay type',
  'Pay type label',
  'Amount (CNY)',
  'Gift count',
  'Payer nickname',
  'Payer openId',
  'WeChat app ID',
];
const incomeRow = (r: IncomeRecord) => [
  safe(r.id),
  cst(r.paidAt),
  safe(r.channel.id),
  safe(r.accountId),
  r.payType,
  safe(r.payTypeLabel),
  r.amount.amount,
  r.giftCount === null ? '' : String(r.giftCount),
  safe(r.payer.nickname),
  safe(r.payer.openId),
  safe(r.wechatAppId),
];

/**
 * Large arrays equal: compared as JSON first (jest's deep equality takes seconds over tens of
 * thousands of rows), and with jest's own diff when they differ.
 */
function expectSame(actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected);
}

let stack: Stack;
beforeAll(async () => {
  // Tests read a list's exports side by side (the defaults allow one a client, two a replica).
  stack = await startStack({
    env: { GATEWAY_EXPORT_MAX_PER_CLIENT: '4', GATEWAY_EXPORT_MAX_IN_FLIGHT: '4' },
  });
});
afterAll(() => stack?.close());
// The gateway answers from this process: after a test kept it busy, let the timers that fell
// due meanwhile (idle keep-alive sockets closing) run before the next test's first request
// picks one of those sockets and sees it reset.
beforeEach(() => new Promise((resolve) => setTimeout(resolve, 50)));

describe('red packs and their receives', () => {
  const filters: [string, RedPackFilter, string][] = [
    ['a whole channel', { channelId: '2812610' }, 'channel-2812610_all-time'],
    [
      'one session',
      { channelId: '2812610', sessionId: 'g8h352spmc' },
      'channel-2812610_session-g8h352spmc_all-time',
    ],
    [
      'a range of CST days',
      { channelId: '2812610', from: '2026-11-01', to: '2026-11-19' },
      'channel-2812610_2026-11-01_to_2026-11-19',
    ],
    [
      'a session and a range',
      { channelId: '2812611', sessionId: 'q8s0u2w4y6', from: '2026-09-15', to: '2026-10-31' },
      'channel-2812611_session-q8s0u2w4y6_2026-09-15_to_2026-10-31',
    ],
    [
      'from a day on',
      { channelId: '2812612', from: '2026-10-01' },
      'channel-2812612_from_2026-10-01',
    ],
    ['no red packs at all', { channelId: '2812613' }, 'channel-2812613_all-time'],
  ];

  it.each(filters)(
    '%s: rows equal the connection, totals the summary, to the fen',
    async (_name, filter, filename) => {
      const [nodes, summary, csv, receivesCsv] = await Promise.all([
        allRedPacks(stack, filter),
        redPackSummary(stack, filter),
        download(stack, 'red-packs', { ...filter }),
        download(stack, 'red-pack-receives', { ...filter }),
      ]);

      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      expect(csv.headers.get('content-disposition')).toBe(
        `attachment; filename="red-packs_${filename}.csv"`,
      );
      expect(csv.headers.get('cache-control')).toBe('no-store');
      expect(csv.headers.get('x-export-records')).toBe(String(summary.count));
      // RFC 4180: every record ends in CRLF; no lone LF outside quoted cells (none have one here).
      expect(csv.text.endsWith('\r\n')).toBe(true);
      expect(csv.text.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);

      const { header, rows } = csvOf(csv.text);
      expect(header).toEqual(RED_PACK_HEADER);
      expectSame(rows, nodes.map(redPackRow));
      expect(rows).toHaveLength(summary.count);
      const column = (name: string) => rows.map((row) => row[header.indexOf(name)]!);
      expect(sumFen(column('Amount (CNY)'))).toBe(summary.totalAmount.fen);
      expect(sumFen(column('Balance (CNY)'))).toBe(summary.totalBalance.fen);
      expect(sumFen(column('Received (CNY)'))).toBe(summary.totalReceived.fen);
      expect(column('Receive count').reduce((sum, count) => sum + Number(count), 0)).toBe(
        summary.receiveCount,
      );

      expect(receivesCsv.status).toBe(200);
      expect(receivesCsv.headers.get('content-disposition')).toBe(
        `attachment; filename="red-pack-receives_${filename}.csv"`,
      );
      const receives = csvOf(receivesCsv.text);
      expect(receives.header).toEqual(RECEIVE_HEADER);
      expectSame(
        receives.rows,
        nodes.flatMap((node) => node.receives.map(receiveRow)),
      );
      expect(receives.rows).toHaveLength(summary.receiveCount);
      expect(sumFen(receives.rows.map((row) => row[3]!))).toBe(summary.totalReceived.fen);
    },
  );

  it('as NDJSON: one object a line, the fields of the GraphQL types', async () => {
    const filter = { channelId: '2812610', from: '2026-11-01', to: '2026-11-19' };
    const [nodes, packs, receives] = await Promise.all([
      allRedPacks(stack, filter),
      download(stack, 'red-packs', { ...filter, format: 'ndjson' }),
      download(stack, 'red-pack-receives', { ...filter, format: 'ndjson' }),
    ]);
    expect(packs.status).toBe(200);
    expect(packs.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(packs.headers.get('content-disposition')).toBe(
      'attachment; filename="red-packs_channel-2812610_2026-11-01_to_2026-11-19.ndjson"',
    );
    expect(packs.text.startsWith('{')).toBe(true);
    expectSame(linesOf(packs.text), nodes);
    expectSame(
      linesOf(receives.text),
      nodes.flatMap((node) => node.receives),
    );
  });
});

describe('income', () => {
  const filters: [string, IncomeFilter, string][] = [
    [
      'the whole account',
      { startDate: '2026-10-01', endDate: '2026-10-31' },
      'income_all-channels_2026-10-01_to_2026-10-31',
    ],
    [
      'one channel',
      { startDate: '2026-08-01', endDate: '2026-11-19', channelId: '2812610' },
      'income_channel-2812610_2026-08-01_to_2026-11-19',
    ],
    [
      'one day',
      { startDate: '2026-10-07', endDate: '2026-10-07' },
      'income_all-channels_2026-10-07_to_2026-10-07',
    ],
  ];

  it.each(filters)(
    '%s: rows equal the connection, the total the summary, to the fen',
    async (_name, filter, filename) => {
      const [{ nodes, summary }, csv, ndjson] = await Promise.all([
        allIncome(stack, filter),
        download(stack, 'income', { ...filter }),
        download(stack, 'income', { ...filter, format: 'ndjson' }),
      ]);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${filename}.csv"`);
      const { header, rows } = csvOf(csv.text);
      expect(header).toEqual(INCOME_HEADER);
      expectSame(rows, nodes.map(incomeRow));
      expect(rows).toHaveLength(summary.count);
      expect(sumFen(rows.map((row) => row[6]!))).toBe(summary.total.fen);
      expectSame(linesOf(ndjson.text), nodes);
    },
  );
});

describe('spreadsheet hygiene', () => {
  it('neutralises formulas, and quotes, commas, line breaks and emoji read back exactly', async () => {
    const channelId = '2812614';
    const nasty = [
      'a "quoted", name',
      'line one\nline two',
      'carriage\r\nreturn',
      '红包 🧧 emoji 😀👍🏽',
      'comma, then =not a formula',
    ];
    const formulas = [
      '=HYPERLINK("x")',
      '+cmd|"/c calc"!A1',
      '-2+3',
      '@SUM(A1:A2)',
      '\tTab',
      '＝1+1',
    ];
    const pack = stack.emulator.insertRedPack(channelId, {
      nickName: '=HYPERLINK("x")',
      amountFen: 10_000,
      packetCount: 20,
      status: '进行中',
      receives: [...nasty, ...formulas].map((nickName, index) => ({
        userId: `o-test-${index}`,
        nickName,
        amountFen: 100 + index,
      })),
    });
    const one = { channelId, from: '2026-01-01' };
    const packs = await download(stack, 'red-packs', one);
    const receives = await download(stack, 'red-pack-receives', one);

    // The red pack's sender: prefixed with a quote, the cell quoted, its quotes doubled.
    expect(packs.text).toContain(`"'=HYPERLINK(""x"")"`);
    const { header, rows } = csvOf(packs.text);
    const row = rows.find((cells) => cells[0] === pack.redPackId)!;
    expect(row[header.indexOf('Sender nickname')]).toBe(`'=HYPERLINK("x")`);

    const read = csvOf(receives.text).rows.filter((cells) => cells[0] === pack.redPackId);
    expect(read.map((cells) => cells[1])).toEqual([
      ...nasty,
      ...formulas.map((formula) => `'${formula}`),
    ]);
    // No cell of either file starts a formula.
    for (const cells of [...rows, ...csvOf(receives.text).rows])
      for (const cell of cells) expect(cell).not.toMatch(/^[=+@\t\r\uFF1D\uFF0B\uFF20]|^-(?!\d)/);

    // JSON is not a spreadsheet: NDJSON keeps the nickname as Polyv sent it.
    const json = linesOf(
      (await download(stack, 'red-pack-receives', { ...one, format: 'ndjson' })).text,
    ) as Receive[];
    expect(
      json.filter((receive) => receive.redPackId === pack.redPackId).map((r) => r.user.nickname),
    ).toEqual([...nasty, ...formulas]);
  });
});

describe('refusals before the first byte', () => {
  it.each([
    ['red-packs', {}, 'channelId', /`channelId` is required/],
    ['red-packs', { channelId: '28x' }, 'channelId', /not a Polyv channel number/],
    ['red-packs', { channelId: '2812610', from: '2026-02-30' }, 'from', /real calendar day/],
    [
      'red-packs',
      { channelId: '2812610', from: '2026-11-19', to: '2026-11-01' },
      'from',
      /must not be after/,
    ],
    ['red-packs', { channelId: '2812610', sessionId: 'a b' }, 'sessionId', /session id/],
    [
      'red-packs',
      { channelId: '2812610', startTime: '2026-11-01' },
      'startTime',
      /not a parameter/,
    ],
    ['red-packs', { channelId: '2812610', format: 'xlsx' }, 'format', /`csv` or `ndjson`/],
    ['income', { startDate: '2026-10-07' }, 'endDate', /`endDate` is required/],
    [
      'income',
      { startDate: '2026-10-07', endDate: '2026-10-01' },
      'startDate',
      /must not be after/,
    ],
  ])(
    '%s %j: 400 BAD_USER_INPUT naming `%s`, no Polyv call',
    async (list, parameters, argument, message) => {
      stack.emulator.resetCounters();
      const answer = await download(stack, list, parameters as Record<string, string>);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const body = JSON.parse(answer.text) as { errors: { message: string; extensions: object }[] };
      expect(body.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument });
      expect(body.errors[0]!.message).toMatch(message);
      expect(stack.emulator.calls).toHaveLength(0);
    },
  );

  it('refuses a repeated parameter, an unknown export and anything but GET', async () => {
    const repeated = await fetch(
      `${stack.gateway.url}/export/red-packs.csv?channelId=2812610&channelId=2812611`,
      { headers: PREFLIGHT },
    );
    expect(repeated.status).toBe(400);
    expect(
      (await fetch(`${stack.gateway.url}/export/users.csv`, { headers: PREFLIGHT })).status,
    ).toBe(404);
    const post = await fetch(`${stack.gateway.url}/export/red-packs.csv?channelId=2812610`, {
      method: 'POST',
      headers: PREFLIGHT,
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('with keys off, refuses a GET any page could make a browser send (CSRF), as /graphql does', async () => {
    stack.emulator.resetCounters();
    const answer = await download(stack, 'red-packs', { channelId: '2812610' }, {});
    expect(answer.status).toBe(400);
    expect(answer.text).toMatch(/cross-site request forgery/);
    expect(stack.emulator.calls).toHaveLength(0);
  });

  it('refuses past the record budget from the first page alone, before any row', async () => {
    const small = await startStack({
      sharedEmulator: stack.emulator,
      env: { GATEWAY_EXPORT_MAX_RECORDS: '1000' },
    });
    try {
      stack.emulator.resetCounters();
      const answer = await download(small, 'red-pack-receives', { channelId: '2812610' });
      expect(answer.status).toBe(422);
      const body = JSON.parse(answer.text) as { errors: { extensions: object }[] };
      expect(body.errors[0]!.extensions).toEqual({
        code: 'QUERY_LIMIT_EXCEEDED',
        limit: 'exportRecords',
        max: 1000,
        actual: stack.emulator.store.redPacks.get('2812610')!.length,
      });
      expect(stack.emulator.calls).toHaveLength(1);
      // A list that fits is served.
      expect((await download(small, 'red-packs', { channelId: '2812612' })).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('answers a Polyv failure on the first page with a coded 503, not a file', async () => {
    stack.emulator.injectFaults('http503', 3, 'redPackStatistics');
    const answer = await download(stack, 'red-packs', { channelId: '2812612' });
    expect(answer.status).toBe(503);
    const body = JSON.parse(answer.text) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      reason: 'HTTP_5XX',
      attempts: 3,
    });
    stack.emulator.clearFaults();
  });
});

describe('with API keys', () => {
  let keyed: Stack;
  beforeAll(async () => {
    keyed = await startStack({
      sharedEmulator: stack.emulator,
      env: {
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        GATEWAY_EXPORT_MAX_PER_CLIENT: '1',
        GATEWAY_EXPORT_MAX_IN_FLIGHT: '1',
      },
    });
  });
  afterAll(() => keyed?.close());

  it('a scoped key exports its channel, and is refused any other before any Polyv call', async () => {
    const ops = bearer(KEYS.ops);
    stack.emulator.resetCounters();
    for (const [list, parameters] of [
      ['red-packs', { channelId: '2812611' }],
      ['red-pack-receives', { channelId: '2812611', from: '2026-10-01' }],
      ['income', { startDate: '2026-10-01', endDate: '2026-10-31', channelId: '2812611' }],
      // Account-level income: every channel, so not this key's.
      ['income', { startDate: '2026-10-01', endDate: '2026-10-31' }],
    ] as const) {
      const answer = await download(keyed, list, parameters, ops);
      expect([list, answer.status]).toEqual([list, 403]);
      const body = JSON.parse(answer.text) as { errors: { extensions: object }[] };
      expect(body.errors[0]!.extensions).toEqual({ code: 'FORBIDDEN' });
    }
    expect(stack.emulator.calls).toHaveLength(0);

    const own = await download(keyed, 'red-packs', { channelId: '2812610' }, ops);
    expect(own.status).toBe(200);
    expect(csvOf(own.text).rows.length).toBeGreaterThan(3000);
  });

  it('no key: 401; a key the rate limit refuses: 429, never a 200', async () => {
    const none = await download(keyed, 'red-packs', { channelId: '2812610' }, {});
    expect(none.status).toBe(401);
    const limited = await startStack({
      sharedEmulator: stack.emulator,
      env: {
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        GATEWAY_RATE_PER_SECOND: '1',
        GATEWAY_RATE_BURST: '1',
      },
    });
    try {
      const finance = { ...bearer(KEYS.finance), accept: 'application/json' };
      expect((await download(limited, 'red-packs', { channelId: '2812614' }, finance)).status).toBe(
        200,
      );
      const refused = await download(limited, 'red-packs', { channelId: '2812614' }, finance);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(JSON.parse(refused.text)).toMatchObject({
        errors: [{ extensions: { code: 'RATE_LIMITED' } }],
      });
    } finally {
      await limited.close();
    }
  });

  it('bounds exports in flight per key (429) and per replica (503)', async () => {
    stack.emulator.setLatency(300);
    try {
      const running = download(keyed, 'red-packs', { channelId: '2812610' }, bearer(KEYS.ops));
      // The first export holds its slot from before its first Polyv call.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const again = await download(keyed, 'red-packs', { channelId: '2812610' }, bearer(KEYS.ops));
      expect(again.status).toBe(429);
      expect(JSON.parse(again.text)).toMatchObject({
        errors: [{ extensions: { code: 'RATE_LIMITED', limit: 'exportsPerClient', max: 1 } }],
      });
      const other = await download(
        keyed,
        'income',
        { startDate: '2026-10-01', endDate: '2026-10-01' },
        bearer(KEYS.finance),
      );
      expect(other.status).toBe(503);
      expect(other.headers.get('retry-after')).toBe('10');
      expect(JSON.parse(other.text)).toMatchObject({
        errors: [{ extensions: { code: 'SERVER_BUSY', limit: 'exports', max: 1 } }],
      });
      expect((await running).status).toBe(200);
      // Its slot is given back when it ends.
      const after = await download(
        keyed,
        'income',
        { startDate: '2026-10-01', endDate: '2026-10-01' },
        bearer(KEYS.finance),
      );
      expect(after.status).toBe(200);
    } finally {
      stack.emulator.setLatency(0);
    }
  });
});

describe('observability', () => {
  it('logs one request line per export with what it sent, and counts rows in /metrics', async () => {
    const before = stack.logs.length;
    const answer = await download(stack, 'red-packs', { channelId: '2812612' });
    expect(answer.status).toBe(200);
    // The line is written when the connection closes: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = stack.logs.slice(before).filter((line) => line.msg === 'export request');
    expect(lines).toEqual([
      expect.objectContaining({
        operation: 'red-packs',
        status: 200,
        upstreamCalls: 1,
        errorCodes: [],
        export: {
          list: 'red-packs',
          format: 'csv',
          records: 40,
          rows: 40,
          bytes: Buffer.byteLength(answer.text),
          outcome: 'complete',
        },
      }),
    ]);
    const metrics = await (await fetch(`${stack.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_export_rows_total\{list="red-packs",format="csv"\} \d+/);
    expect(metrics).toMatch(
      /gateway_export_duration_seconds_count\{list="red-packs",format="csv",outcome="complete"\} \d+/,
    );
  });
});

describe('the page cache', () => {
  let own: Stack;
  beforeAll(async () => {
    own = await startStack({ env: { GATEWAY_CACHE: 'on' } });
  });
  afterAll(() => own?.close());

  /** Polyv calls one export of a channel's red packs made, from its request line. */
  async function exportCalls(): Promise<unknown> {
    const before = own.logs.length;
    expect((await download(own, 'red-packs', { channelId: '2812611' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    return own.logs.slice(before).find((line) => line.msg === 'export request')?.upstreamCalls;
  }

  it('an export reads cached pages but stores none of its own, so it evicts no dashboard page', async () => {
    expect(await exportCalls()).toBe(1);
    // Had the first export stored its page, this one would be served from the cache.
    expect(await exportCalls()).toBe(1);
    // A summary's walk stores the same 1,000-record page; the export then reads it.
    await redPackSummary(own, { channelId: '2812611' });
    expect(await exportCalls()).toBe(0);
  });
});

/** A raw GET: the status, the body's bytes, and whether the message arrived whole. */
function rawGet(
  url: string,
  onResponse: () => void = () => undefined,
): Promise<{ status: number; body: string; complete: boolean; chunked: boolean }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: PREFLIGHT }, (response) => {
      onResponse();
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      const done = () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          complete: response.complete,
          chunked: response.headers['transfer-encoding'] === 'chunked',
        });
      response.on('end', done);
      response.on('error', done);
      response.on('aborted', done);
    });
    request.on('error', reject);
  });
}

describe('failure part way', () => {
  let big: Stack;
  beforeAll(async () => {
    // 20 pages of 1,000: the walk is still asking for pages when the test interferes.
    big = await startStack({
      emulator: { bigChannelRedPacks: 20_000, latencyMs: 40 },
      // The faults below open the breaker: let it probe again soon after.
      // A client that reads nothing is cut after a request's timeout: 2 s here.
      env: { POLYV_BREAKER_RESET_MS: '300', GATEWAY_REQUEST_TIMEOUT_MS: '2000' },
    });
  });
  afterAll(() => big?.close());
  const url = () => exportUrl(big, 'red-packs', { channelId: BIG_CHANNEL_ID });

  it('streams the whole channel when nothing fails', async () => {
    const whole = await rawGet(url());
    expect(whole).toMatchObject({ status: 200, complete: true, chunked: true });
    expect(csvOf(whole.body).rows).toHaveLength(20_000);
  });

  it('Polyv failing after the first pages (after retries): the transfer is cut, never ended', async () => {
    const before = big.logs.length;
    const cut = await rawGet(url(), () =>
      // The headers are out (the first pages agreed): every later call fails, retries too.
      big.emulator.injectFaults('http500', 1000, 'redPackStatistics'),
    );
    big.emulator.clearFaults();
    expect(cut.status).toBe(200);
    expect(cut.chunked).toBe(true);
    expect(cut.complete).toBe(false);
    const { rows } = csvOf(cut.body.slice(0, cut.body.lastIndexOf('\r\n') + 2));
    expect(rows.length).toBeGreaterThanOrEqual(2000);
    expect(rows.length).toBeLessThan(20_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = big.logs.slice(before).find((entry) => entry.msg === 'export request')!;
    expect(line).toMatchObject({
      errorCodes: ['UPSTREAM_UNAVAILABLE'],
      export: { outcome: 'failed', records: 20_000 },
    });
    expect(
      big.logs
        .slice(before)
        .some((entry) => String(entry.msg).startsWith('export aborted part way')),
    ).toBe(true);
  });

  it('a client that stops reading is cut after the request timeout, its slot given back', async () => {
    const before = big.logs.length;
    const { hostname, port } = new URL(big.gateway.url);
    const socket = net.connect(Number(port), hostname, () =>
      socket.write(
        `GET /export/red-packs.csv?channelId=${BIG_CHANNEL_ID}&format=ndjson HTTP/1.1\r\n` +
          `Host: ${hostname}\r\napollo-require-preflight: true\r\n\r\n`,
      ),
    );
    // Reads nothing: about 14 MB of JSON lines fill the socket's buffers, then the writes wait.
    socket.pause();
    const aborted = () => big.logs.slice(before).find((entry) => entry.msg === 'export request');
    for (let waited = 0; !aborted() && waited < 20_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    expect(aborted()).toMatchObject({ errorCodes: [], export: { outcome: 'failed' } });
    expect(
      big.logs.slice(before).find((entry) => String(entry.msg).startsWith('export aborted')),
    ).toMatchObject({ stalled: true });
    const metrics = await (await fetch(`${big.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_exports_in_flight 0$/m);
  }, 30_000);

  it('a list that changes under it: read again once past the cache, then LIST_CHANGING, cut', async () => {
    // The breaker the faults opened probes again after 300 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const before = big.logs.length;
    const cut = await rawGet(url(), () => big.emulator.insertRedPack(BIG_CHANNEL_ID));
    expect(cut.status).toBe(200);
    expect(cut.complete).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = big.logs.slice(before).find((entry) => entry.msg === 'export request')!;
    expect(line).toMatchObject({
      errorCodes: ['UPSTREAM_UNAVAILABLE'],
      export: { outcome: 'failed' },
    });
    expect(
      big.logs
        .slice(before)
        .some((entry) => entry.reason === 'LIST_CHANGING' && entry.level !== undefined),
    ).toBe(true);
  });
});
