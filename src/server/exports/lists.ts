/**
 * The three exports: which list each reads (lists/list.ts, the lists the connections read), what
 * its parameters mean, and how a record becomes CSV rows and NDJSON lines.
 *
 * - CSV: a header row in English; money as exact decimal yuan (integer fen written out, never a
 *   float); times as China Standard Time wall-clock time, the zone named in the header; text
 *   from Polyv neutralised against formulas (csv.ts).
 * - NDJSON: one JSON object per line with the fields of the GraphQL type, as a query for every
 *   field would answer (money as `{ amount, fen, currency }`, times ISO-8601 in UTC). Text is
 *   as Polyv sent it: JSON is not run by spreadsheets.
 */
import {
  cstDateTimeOf,
  cstDayStartMillis,
  fenToDecimal,
  isCalendarDay,
  isoInstant,
} from '../../domain/convert.js';
import type {
  IncomeRecordModel,
  MoneyModel,
  RedPackModel,
  RedPackReceiveModel,
  WechatUserModel,
} from '../../domain/models.js';
import { listOf, type PolyvList, type PolyvSession } from '../../lists/list.js';
import type { FilterOf } from '../../polyv/endpoints.js';
import {
  readWholeList,
  type WholeListOptions,
  type WholeListReading,
} from '../../pagination/stream.js';
import {
  channelArgument,
  channelIdArgument,
  dayRange,
  sessionIdArgument,
} from '../../schema/arguments.js';
import { badUserInput } from '../../schema/clientErrors.js';
import { csvHeader, csvRows, neutralise, type Cell } from './csv.js';

export type ExportFormat = 'csv' | 'ndjson';
export const EXPORT_NAMES = ['red-packs', 'red-pack-receives', 'income'] as const;
export type ExportName = (typeof EXPORT_NAMES)[number];

/** The query string, one value per parameter. */
export type Parameters = Record<string, string>;

/** An export whose parameters were read: who it is about, and how to run it. */
export interface PreparedExport {
  /** The channel it reads (absent: the whole account's income): what the key must allow. */
  channelId: string | undefined;
  /** The file's name without its extension: the list, channel and range. */
  filename: string;
  /** Reads the list's first pages: refuses what cannot fit before anything is sent. */
  start(session: PolyvSession, options: WholeListOptions): Promise<StartedExport>;
}

export interface StartedExport {
  /** The list's length (red packs, income records), as its first page said. */
  total: number;
  /** What opens the file: the BOM and header row for CSV, nothing for NDJSON. */
  preamble(format: ExportFormat): string;
  /** Each page's records as text, in list order, with the rows it holds. */
  chunks(format: ExportFormat): AsyncGenerator<{ text: string; rows: number }, void, undefined>;
}

export interface ExportKind {
  name: ExportName;
  /** Every parameter it takes besides `format`. */
  parameters: readonly string[];
  /** Reads its parameters (throws BAD_USER_INPUT naming the one that is wrong). */
  prepare(parameters: Parameters, accountId: string): PreparedExport;
}

interface Column<Unit> {
  header: string;
  cell(unit: Unit): Cell;
  /** Text from Polyv: neutralised against formulas. Numbers, enums and times are ours. */
  text?: boolean;
}

interface ExportSpec<Filter, Model, Unit> {
  name: ExportName;
  list: PolyvList<Filter, Model>;
  parameters: readonly string[];
  read(
    parameters: Parameters,
    accountId: string,
  ): {
    filter: Filter;
    channelId: string | undefined;
    filename: string;
  };
  /** The rows one record makes: itself, or (receives) each of its receives. */
  units(record: Model): readonly Unit[];
  columns: readonly Column<Unit>[];
  json(unit: Unit): unknown;
}

function defineExport<Filter extends object, Model, Unit>(
  spec: ExportSpec<Filter, Model, Unit>,
): ExportKind {
  const headers = spec.columns.map((column) => column.header);
  const cellsOf = (unit: Unit): Cell[] =>
    spec.columns.map((column) => {
      const value = column.cell(unit);
      return value !== null && column.text ? neutralise(value) : value;
    });
  const text = (format: ExportFormat, records: readonly Model[]) => {
    const units = records.flatMap((record) => spec.units(record));
    const body =
      format === 'csv'
        ? csvRows(units.map(cellsOf))
        : units.map((unit) => `${JSON.stringify(spec.json(unit))}\n`).join('');
    return { text: body, rows: units.length };
  };
  return {
    name: spec.name,
    parameters: spec.parameters,
    prepare(parameters, accountId) {
      const { filter, channelId, filename } = spec.read(parameters, accountId);
      return {
        channelId,
        filename,
        async start(session, options) {
          const reading: WholeListReading<Model> = await readWholeList(
            spec.list.read(session, filter),
            options,
          );
          return {
            total: reading.total,
            preamble: (format) => (format === 'csv' ? csvHeader(headers) : ''),
            async *chunks(format) {
              for await (const records of reading.pages()) yield text(format, records);
            },
          };
        },
      };
    },
  };
}

// Parameters -----------------------------------------------------------------------------------

/** A day parameter (yyyy-MM-dd, a real CST day), or undefined when absent. */
function day(parameters: Parameters, name: string): string | undefined {
  const value = parameters[name];
  if (value === undefined) return undefined;
  if (!isCalendarDay(value))
    throw badUserInput(
      `\`${name}\` must be a real calendar day written yyyy-MM-dd (China Standard Time); got ${JSON.stringify(value)}.`,
      name,
    );
  return value;
}

function required(parameters: Parameters, name: string): string {
  const value = parameters[name];
  if (value === undefined) throw badUserInput(`\`${name}\` is required.`, name);
  return value;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The red-pack filter of a channel, a session and CST days (`from` and `to` both included). */
function redPackFilter(parameters: Parameters): {
  filter: FilterOf<'redPackStatistics'>;
  channelId: string;
  filename: string;
} {
  const channelId = channelArgument(required(parameters, 'channelId'), 'channelId');
  const sessionId = sessionIdArgument(parameters.sessionId);
  const from = day(parameters, 'from');
  const to = day(parameters, 'to');
  if (from !== undefined && to !== undefined && from > to)
    throw badUserInput(`\`from\` (${from}) must not be after \`to\` (${to}).`, 'from');
  const range =
    from !== undefined && to !== undefined
      ? `${from}_to_${to}`
      : from !== undefined
        ? `from_${from}`
        : to !== undefined
          ? `to_${to}`
          : 'all-time';
  return {
    channelId,
    filter: {
      channelId,
      sessionId,
      startTime: from === undefined ? undefined : cstDayStartMillis(from),
      endTime: to === undefined ? undefined : cstDayStartMillis(to) + DAY_MS - 1,
    },
    filename: `channel-${channelId}${sessionId === undefined ? '' : `_session-${sessionId}`}_${range}`,
  };
}

const RED_PACK_PARAMETERS = ['channelId', 'sessionId', 'from', 'to'] as const;

// Values ---------------------------------------------------------------------------------------

const CST = '(CST UTC+8)';
const decimal = (money: MoneyModel) => fenToDecimal(money.fen);
const moneyJson = (money: MoneyModel) => ({
  amount: fenToDecimal(money.fen),
  fen: money.fen,
  currency: money.currency,
});
const userJson = (user: WechatUserModel) => ({
  openId: user.openId,
  nickname: user.nickname,
  avatarUrl: user.avatarUrl,
});
const receiveJson = (receive: RedPackReceiveModel) => ({
  redPackId: receive.redPackId,
  user: userJson(receive.user),
  amount: moneyJson(receive.amount),
  receivedAt: isoInstant(receive.receivedAt.getTime()),
});
const receivedFen = (redPack: RedPackModel) =>
  redPack.receives.reduce((sum, receive) => sum + receive.amount.fen, 0);

// The exports ----------------------------------------------------------------------------------

const redPackExport = defineExport<FilterOf<'redPackStatistics'>, RedPackModel, RedPackModel>({
  name: 'red-packs',
  list: listOf('redPackStatistics'),
  parameters: RED_PACK_PARAMETERS,
  read: (parameters) => {
    const { filter, channelId, filename } = redPackFilter(parameters);
    return { filter, channelId, filename: `red-packs_${filename}` };
  },
  units: (redPack) => [redPack],
  columns: [
    { header: 'Red pack ID', cell: (r) => r.id, text: true },
    { header: `Created at ${CST}`, cell: (r) => cstDateTimeOf(r.createdAt) },
    { header: 'Channel ID', cell: (r) => r.channelId, text: true },
    { header: 'Session ID', cell: (r) => r.sessionId, text: true },
    { header: 'Type', cell: (r) => r.type },
    { header: 'Type label', cell: (r) => r.typeLabel, text: true },
    { header: 'Status', cell: (r) => r.status },
    { header: 'Status label', cell: (r) => r.statusLabel, text: true },
    { header: 'Allot type', cell: (r) => r.allotType },
    { header: 'Allot type label', cell: (r) => r.allotTypeLabel, text: true },
    { header: 'Sender nickname', cell: (r) => r.sender.nickname, text: true },
    { header: 'Sender openId', cell: (r) => r.sender.openId, text: true },
    { header: 'Amount (CNY)', cell: (r) => decimal(r.amount) },
    { header: 'Balance (CNY)', cell: (r) => decimal(r.balance) },
    { header: 'Received (CNY)', cell: (r) => fenToDecimal(receivedFen(r)) },
    { header: 'Receive count', cell: (r) => String(r.receives.length) },
  ],
  json: (r) => ({
    id: r.id,
    channel: { id: r.channelId },
    sessionId: r.sessionId,
    sender: userJson(r.sender),
    amount: moneyJson(r.amount),
    balance: moneyJson(r.balance),
    allotType: r.allotType,
    allotTypeLabel: r.allotTypeLabel,
    status: r.status,
    statusLabel: r.statusLabel,
    type: r.type,
    typeLabel: r.typeLabel,
    createdAt: isoInstant(r.createdAt.getTime()),
    receives: r.receives.map(receiveJson),
    receiveCount: r.receives.length,
  }),
});

const receiveExport = defineExport<
  FilterOf<'redPackStatistics'>,
  RedPackModel,
  RedPackReceiveModel
>({
  name: 'red-pack-receives',
  list: listOf('redPackStatistics'),
  parameters: RED_PACK_PARAMETERS,
  read: (parameters) => {
    const { filter, channelId, filename } = redPackFilter(parameters);
    return { filter, channelId, filename: `red-pack-receives_${filename}` };
  },
  // Red packs newest first (the list's order), each one's receives as Polyv lists them.
  units: (redPack) => redPack.receives,
  columns: [
    { header: 'Red pack ID', cell: (r) => r.redPackId, text: true },
    { header: 'Receiver nickname', cell: (r) => r.user.nickname, text: true },
    { header: 'Receiver openId', cell: (r) => r.user.openId, text: true },
    { header: 'Amount (CNY)', cell: (r) => decimal(r.amount) },
    { header: `Received at ${CST}`, cell: (r) => cstDateTimeOf(r.receivedAt) },
  ],
  json: receiveJson,
});

const incomeExport = defineExport({
  name: 'income',
  list: listOf('incomeDetail'),
  parameters: ['startDate', 'endDate', 'channelId'],
  read: (parameters, accountId) => {
    const range = dayRange(
      day(parameters, 'startDate') ?? required(parameters, 'startDate'),
      day(parameters, 'endDate') ?? required(parameters, 'endDate'),
    );
    const channelId = channelIdArgument(parameters.channelId, 'channelId');
    return {
      channelId,
      filter: { userId: accountId, ...range, channelId },
      filename: `income_${channelId === undefined ? 'all-channels' : `channel-${channelId}`}_${range.startDate}_to_${range.endDate}`,
    };
  },
  units: (record: IncomeRecordModel) => [record],
  columns: [
    { header: 'Order ID', cell: (r) => r.id, text: true },
    { header: `Paid at ${CST}`, cell: (r) => cstDateTimeOf(r.paidAt) },
    { header: 'Channel ID', cell: (r) => r.channelId, text: true },
    { header: 'Account ID', cell: (r) => r.accountId, text: true },
    { header: 'Pay type', cell: (r) => r.payType },
    { header: 'Pay type label', cell: (r) => r.payTypeLabel, text: true },
    { header: 'Amount (CNY)', cell: (r) => decimal(r.amount) },
    { header: 'Gift count', cell: (r) => (r.giftCount === null ? null : String(r.giftCount)) },
    { header: 'Payer nickname', cell: (r) => r.payer.nickname, text: true },
    { header: 'Payer openId', cell: (r) => r.payer.openId, text: true },
    { header: 'WeChat app ID', cell: (r) => r.wechatAppId, text: true },
  ],
  json: (r: IncomeRecordModel) => ({
    id: r.id,
    channel: { id: r.channelId },
    accountId: r.accountId,
    amount: moneyJson(r.amount),
    giftCount: r.giftCount,
    payType: r.payType,
    payTypeLabel: r.payTypeLabel,
    payer: userJson(r.payer),
    paidAt: isoInstant(r.paidAt.getTime()),
    wechatAppId: r.wechatAppId,
  }),
});

/** Every export, by the name its path carries (`/export/<name>.csv`). */
export const EXPORTS: Readonly<Record<ExportName, ExportKind>> = {
  'red-packs': redPackExport,
  'red-pack-receives': receiveExport,
  income: incomeExport,
};
