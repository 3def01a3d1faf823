/**
 * What Polyv sends, declared once: its two envelopes, how each pages a list, the pieces records
 * are made of, and every endpoint the gateway calls, each with everything Polyv-side about it:
 * how it is called (method, path, envelope, how it pages), what one of its records is (its
 * run-time schema) and how long its pages are reused by default. Read from here, never copied:
 * the signed client's envelope checks (http.ts), the lists' calls (lists/list.ts), the page
 * cache's TTL setting, its keys and defaults (config/endpoints.ts), and the emulator's routes,
 * wire types and fault answers (emulator/). Anything that does not match is a malformed answer
 * (a clear upstream error), never a crash deep in a resolver or a field silently null.
 *
 * Each declaration also says what its list is to the gateway (`list`): where each of its filters
 * comes from in a GraphQL request, the record as our model, the record's key, and the schema type
 * it feeds. From that alone lists/list.ts builds the list and schema/lists.ts resolves every field
 * whose type is that type's connection: a new list of this family is one entry here, its fields in
 * schema.graphql and its emulator data.
 *
 * An endpoint's id is a type (`EndpointId`): a misspelt or undeclared id fails tsc wherever one
 * is written. A new endpoint is one more entry in POLYV_ENDPOINTS.
 */
import { z } from 'zod';
import {
  allotTypeFromLabel,
  instantFromMillis,
  money,
  payTypeFromCode,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
} from '../domain/convert.js';
import type { IncomeRecordModel, RedPackModel } from '../domain/models.js';
import type { ParamValue } from './sign.js';

// A record's schema says what Polyv sends and nothing more: no transforms (a null to [], a number
// to a string); the declaration's toModel does those as it makes our model, in the one copy it
// makes anyway. zod reads a page of 100 red packs with 839 receives in 148 µs without transforms
// and in 806 µs with them (Node 24, issue 23), where JSON.parse takes 575 µs for the same page.
// test/endpoints.test.ts refuses a transform in a record's schema.

/** Polyv sends ids sometimes as numbers (channelId in examples), sometimes as strings. */
export const polyvId = z.union([z.string(), z.number().int()]);
export const optionalText = z.string().nullish();
export const millis = z.number().int().nonnegative();
export const yuan = z.number();

/** v4 envelope (`/live/v4/...`): success flag, error object, requestId. */
export const v4Envelope = z.object({
  code: z.number().int(),
  status: z.string().optional(),
  success: z.boolean().optional(),
  requestId: z.string().optional(),
  data: z.unknown().optional(),
  error: z.object({ code: z.number().int(), desc: z.string().optional().default('') }).nullish(),
});

/** v2 envelope (`/live/v2/...`): code, status text and message; `data` may be "" on error. */
export const v2Envelope = z.object({
  code: z.number().int(),
  status: z.string().optional(),
  message: z.string().nullish(),
  data: z.unknown().optional(),
});

/** Polyv's two answer styles: `/live/v4/...` and `/live/v2/...`. */
export type Envelope = 'v4' | 'v2';

/**
 * One page of a list in `data`, as each envelope pages it. Both carry the page and the total;
 * v4 always says how many pages there are, v2 adds row arithmetic we do not read.
 */
export function listPage<Record extends z.ZodType>(envelope: Envelope, record: Record) {
  return z.object({
    pageNumber: z.number().int(),
    pageSize: z.number().int(),
    totalItems: z.number().int().nonnegative(),
    totalPages:
      envelope === 'v4'
        ? z.number().int().nonnegative()
        : z.number().int().nonnegative().optional(),
    contents: z.array(record),
  });
}

/**
 * Where one of a list's filter parameters comes from in a GraphQL request, and how it is checked
 * (schema/lists.ts). Each source but `channel` and `account` is also the argument's name.
 * - `channel`: the Channel the field is on, else an optional `channelId` argument (absent: every
 *   channel of the account); the key must be allowed it.
 * - `account`: the request's Polyv account.
 * - `sessionId`: an optional session id.
 * - `startTime`, `endTime`: an optional DateTime range, sent as milliseconds.
 * - `startDate`, `endDate`: a CST day range, both days included.
 */
export type FilterSource =
  'channel' | 'account' | 'sessionId' | 'startTime' | 'endTime' | 'startDate' | 'endDate';

/** A filter parameter's value once its source has been read and checked. */
export type FilterValue<Source extends FilterSource> = Source extends 'startTime' | 'endTime'
  ? number | undefined
  : Source extends 'account' | 'startDate' | 'endDate'
    ? string
    : string | undefined;

/** What a list is to the gateway: its filters, its model, its key, its place in the schema. */
export interface ListDeclaration<
  Raw,
  Model,
  Filters extends Readonly<Record<string, FilterSource>>,
> {
  /** Names the list in cursors (changing it invalidates every cursor given out). */
  name: string;
  /** The schema's type for one model; every field of type `${node}Connection` reads this list. */
  node: string;
  /** The endpoint's parameters that filter the list, each with where its value comes from. */
  filters: Filters;
  /** One of Polyv's records as our model. */
  toModel(raw: Raw): Model;
  /** A stable id and the time that orders the list (Polyv lists newest first). */
  keyOf(model: Model): { id: string; time: number };
}

export interface EndpointDeclaration<
  Record extends z.ZodType = z.ZodType,
  Model = unknown,
  Filters extends Readonly<{ [name: string]: FilterSource }> = Readonly<{
    [name: string]: FilterSource;
  }>,
> {
  /** What its list holds, in a few words (the TTL setting's description names each endpoint so). */
  holds: string;
  method: 'GET' | 'POST';
  /**
   * Below the base URL. `{name}` is a path parameter: the call's parameter of that name fills it
   * (URL-encoded) and is not sent otherwise.
   */
  path: `/${string}`;
  /** Which of Polyv's two answer styles it uses (responses.ts); it decides the page's shape too. */
  envelope: Envelope;
  /** What it calls its page-number parameter; the page size is `pageSize` everywhere. */
  pageNumberParam: 'pageNumber' | 'page';
  /** The largest `pageSize` it serves. */
  maxPageSize: number;
  /** The page size it uses when none is sent (the gateway always sends one). */
  defaultPageSize: number;
  /** One record of its list, as Polyv sends it. */
  record: Record;
  /** Seconds its pages are reused unless POLYV_CACHE_TTL_S says otherwise (0: never). */
  defaultCacheTtlS: number;
  /** Its list, as the gateway reads it. */
  list: ListDeclaration<z.output<Record>, Model, Filters>;
}

/** Keeps each declaration's own record schema, model and filters in its type. */
const declare = <
  Record extends z.ZodType,
  Model,
  const Filters extends Readonly<{ [name: string]: FilterSource }>,
>(
  declaration: EndpointDeclaration<Record, Model, Filters>,
) => declaration;

const redPackReceive = z.object({
  redPackId: polyvId,
  userId: z.string(),
  nickName: optionalText,
  avatar: optionalText,
  amount: yuan,
  createdTime: millis,
});

const redPack = z.object({
  redPackId: polyvId,
  /** The sender's WeChat openid. */
  userId: z.string(),
  channelId: polyvId,
  nickName: optionalText,
  amount: yuan,
  balance: yuan,
  /** Labels, not codes (随机分配红包, 进行中, 普通红包…): domain/convert.ts reads them. */
  allotType: z.string(),
  createdTime: millis,
  status: z.string(),
  redPackType: z.string(),
  channelSessionId: polyvId.nullish(),
  sessionId: polyvId.nullish(),
  redPackReceiveList: z.array(redPackReceive).nullish(),
});

const incomeRecord = z.object({
  userId: polyvId,
  amount: yuan,
  goodNum: z.number().int().nullish(),
  channelId: polyvId,
  /** cash | pay | good | point, and whatever Polyv adds. */
  payType: z.string(),
  payTypeName: optionalText,
  viewerName: optionalText,
  payTime: millis,
  weixinAppId: optionalText,
  outTradeNo: polyvId,
  openId: optionalText,
});

/** An id as we write every id: a string, whichever way Polyv sent it. */
const idOf = (id: string | number): string => (typeof id === 'string' ? id : String(id));

function toRedPack(raw: z.output<typeof redPack>): RedPackModel {
  const sessionId = raw.channelSessionId ?? raw.sessionId;
  return {
    id: idOf(raw.redPackId),
    channelId: idOf(raw.channelId),
    sessionId: sessionId == null ? null : idOf(sessionId),
    sender: { openId: raw.userId, nickname: raw.nickName ?? null, avatarUrl: null },
    amount: money(yuanToFen(raw.amount)),
    balance: money(yuanToFen(raw.balance)),
    allotType: allotTypeFromLabel(raw.allotType),
    allotTypeLabel: raw.allotType,
    status: redPackStatusFromLabel(raw.status),
    statusLabel: raw.status,
    type: redPackTypeFromLabel(raw.redPackType),
    typeLabel: raw.redPackType,
    createdAt: instantFromMillis(raw.createdTime),
    receives: (raw.redPackReceiveList ?? []).map((receive) => ({
      redPackId: idOf(receive.redPackId),
      user: {
        openId: receive.userId,
        nickname: receive.nickName ?? null,
        avatarUrl: receive.avatar ?? null,
      },
      amount: money(yuanToFen(receive.amount)),
      receivedAt: instantFromMillis(receive.createdTime),
    })),
  };
}

function toIncomeRecord(raw: z.output<typeof incomeRecord>): IncomeRecordModel {
  return {
    id: idOf(raw.outTradeNo),
    channelId: idOf(raw.channelId),
    accountId: idOf(raw.userId),
    amount: money(yuanToFen(raw.amount)),
    giftCount: raw.goodNum ?? null,
    payType: payTypeFromCode(raw.payType),
    payTypeLabel: raw.payTypeName ?? raw.payType,
    payer: { openId: raw.openId ?? '', nickname: raw.viewerName ?? null, avatarUrl: null },
    paidAt: instantFromMillis(raw.payTime),
    wechatAppId: raw.weixinAppId ?? null,
  };
}

export const POLYV_ENDPOINTS = {
  /** Red-pack dispatch statistics: a channel's red packs with their receives, newest first. */
  redPackStatistics: declare({
    holds: "a channel's red packs",
    method: 'GET',
    path: '/live/v4/channel/red-pack/statistics/list',
    envelope: 'v4',
    pageNumberParam: 'pageNumber',
    maxPageSize: 1000,
    defaultPageSize: 10,
    record: redPack,
    defaultCacheTtlS: 30,
    list: {
      name: 'redPacks',
      node: 'RedPack',
      filters: {
        channelId: 'channel',
        sessionId: 'sessionId',
        startTime: 'startTime',
        endTime: 'endTime',
      },
      toModel: toRedPack,
      keyOf: (redPack) => ({ id: redPack.id, time: redPack.createdAt.getTime() }),
    },
  }),
  /** Income detail: an account's income records (gifts, rewards, payments), newest first. */
  incomeDetail: declare({
    holds: "the account's income records",
    method: 'POST',
    path: '/live/v2/user/{userId}/get-income-detail',
    envelope: 'v2',
    pageNumberParam: 'page',
    // No maximum is documented; Polyv's SDK caps its own requests at 1000.
    maxPageSize: 1000,
    defaultPageSize: 12,
    record: incomeRecord,
    defaultCacheTtlS: 60,
    list: {
      name: 'income',
      node: 'IncomeRecord',
      filters: {
        userId: 'account',
        startDate: 'startDate',
        endDate: 'endDate',
        channelId: 'channel',
      },
      toModel: toIncomeRecord,
      keyOf: (record) => ({ id: record.id, time: record.paidAt.getTime() }),
    },
  }),
} as const;

type Declared = typeof POLYV_ENDPOINTS;

/** The id of a declared Polyv endpoint. */
export type EndpointId = keyof Declared;

/** Every declared endpoint's id, in declaration order. */
export const ENDPOINT_IDS = Object.keys(POLYV_ENDPOINTS) as EndpointId[];

/** One record of an endpoint's list, once its schema has read it. */
export type RecordOf<E extends EndpointId> = z.output<Declared[E]['record']>;

/** One record of an endpoint's list as it travels (what the emulator writes). */
export type WireRecordOf<E extends EndpointId> = z.input<Declared[E]['record']>;

/** One record of an endpoint's list as our model (what resolvers receive). */
export type ModelOf<E extends EndpointId> = ReturnType<Declared[E]['list']['toModel']>;

type FiltersOf<E extends EndpointId> = Declared[E]['list']['filters'];

/** The filters of an endpoint's list: each declared filter parameter with its checked value. */
export type FilterOf<E extends EndpointId> = {
  -readonly [Name in Exclude<keyof FiltersOf<E>, OptionalFilters<E>>]: FilterValueOf<E, Name>;
} & { -readonly [Name in OptionalFilters<E>]?: FilterValueOf<E, Name> };

type FilterValueOf<E extends EndpointId, Name extends keyof FiltersOf<E>> = FilterValue<
  FiltersOf<E>[Name] & FilterSource
>;

/** The filters that may be left out (their value may be undefined). */
type OptionalFilters<E extends EndpointId> = {
  [Name in keyof FiltersOf<E>]: undefined extends FilterValueOf<E, Name> ? Name : never;
}[keyof FiltersOf<E>];

/** One page of an endpoint's list, once its schema has read it. */
export interface ListPage<Record> {
  pageNumber: number;
  pageSize: number;
  /** Everything matching the filters, not just this page. */
  totalItems: number;
  totalPages?: number | undefined;
  contents: Record[];
}

const PAGE_SCHEMAS = new Map(
  ENDPOINT_IDS.map((id) => [
    id,
    listPage(POLYV_ENDPOINTS[id].envelope, POLYV_ENDPOINTS[id].record),
  ]),
);

/** The `data` of one page of an endpoint's list, as its envelope pages it. */
export function pageSchemaOf<E extends EndpointId>(endpoint: E): z.ZodType<ListPage<RecordOf<E>>> {
  // The schema reads exactly this; tsc cannot follow a record through an index by a generic id.
  return PAGE_SCHEMAS.get(endpoint) as unknown as z.ZodType<ListPage<RecordOf<E>>>;
}

/** A path template's parameter names, in order: `/user/{userId}/x` has `userId`. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}

/**
 * The path and the remaining parameters of a call: each `{name}` of the endpoint's path filled
 * with that parameter, URL-encoded, and taken out of the parameters sent.
 */
export function resolvePath(
  endpoint: EndpointId,
  params: Readonly<Record<string, ParamValue>>,
): { path: string; params: Record<string, ParamValue> } {
  const rest = { ...params };
  const path = POLYV_ENDPOINTS[endpoint].path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    if (value === undefined || value === null || String(value) === '')
      throw new TypeError(`${endpoint}: the path parameter ${name} is missing`);
    return encodeURIComponent(String(value));
  });
  return { path, params: rest };
}

/**
 * The call for one page of an endpoint's list: its declared method, envelope and page schema,
 * its path filled from the parameters, and the page under the endpoint's own parameter name.
 */
export function pageRequest<E extends EndpointId>(
  endpoint: E,
  params: Readonly<Record<string, ParamValue>>,
  page: { number: number; size: number },
) {
  const { method, envelope, pageNumberParam } = POLYV_ENDPOINTS[endpoint];
  return {
    endpoint,
    method,
    envelope,
    data: pageSchemaOf(endpoint),
    ...resolvePath(endpoint, params),
    page: { ...page, numberParam: pageNumberParam },
  };
}
