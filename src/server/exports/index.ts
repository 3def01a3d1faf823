/**
 * Streamed exports: `GET /export/red-packs.csv`, `/export/red-pack-receives.csv` and
 * `/export/income.csv` (`format=ndjson` for JSON lines), every record of a list as a file,
 * sent as its Polyv pages arrive (docs/exports.md).
 *
 * The same rules as queries, in the same places: the key and the rate limit are checked in
 * front (app.ts mounts the same middleware as for /graphql), the key must allow the channel
 * before any Polyv call (auth/authorise.ts), and the pages are read through the lists the
 * connections read (src/lists/), so through the page cache, the upstream's fair queue and a
 * call budget, by pagination/stream.ts with the connection's consistency rules. Failures get
 * their public codes from the one error formatter.
 *
 * Before the first byte: refusals are JSON errors with a code and an HTTP status (400, 403,
 * 422 past GATEWAY_EXPORT_MAX_RECORDS, 429/503 past the exports in flight, 502/503 when Polyv
 * fails on the first pages). After it, a failure (Polyv failing after its retries, a list that
 * keeps changing) cannot be said in the file without making a truncated file look whole, so the
 * connection is destroyed: with chunked encoding the terminating chunk never comes, and every
 * HTTP client reports an incomplete transfer.
 *
 * Memory: the pages in flight (EXPORT_PAGES_IN_FLIGHT) and one page's text; a client that reads
 * slowly holds the walk (backpressure), one that stops reading for a request's timeout is cut.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { authorise } from '../../auth/authorise.js';
import type { Logger } from '../../logger.js';
import { recordOf, type ExportRecord } from '../../observability/requests.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { MAX_PAGE_SIZE } from '../../pagination/page.js';
import { CallBudget, RecordBudget, type PolyvPages } from '../../polyv/pages.js';
import { ErrorCode } from '../../publicErrors.js';
import { badUserInput } from '../../schema/clientErrors.js';
import { clientOf, principalOf } from '../access.js';
import { wantsFreshData } from '../httpAnswer.js';
import { sendGraphQLError } from '../httpErrors.js';
import { ExportAdmission } from './admission.js';
import {
  EXPORTS,
  EXPORT_NAMES,
  type ExportFormat,
  type ExportKind,
  type ExportName,
  type Parameters,
} from './lists.js';

/** Where exports are served: `${EXPORT_PATH}/<list>.csv`. */
export const EXPORT_PATH = '/export';

/**
 * Polyv pages one export asks for at once (asked for and not yet written): half a summary's
 * WALK_PAGES_IN_FLIGHT. A summary adds a page up as it arrives; an export's pages may wait for
 * a slow client, converted, so they are what an export holds (docs/security.md, Limits).
 */
export const EXPORT_PAGES_IN_FLIGHT = 4;

/** Seconds a client refused for too many exports at once is told to wait. */
const BUSY_RETRY_AFTER_S = 10;

const MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** The HTTP status of a refusal before the first byte, by its public code. */
const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.BadUserInput]: 400,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.QueryLimitExceeded]: 422,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.UpstreamError]: 502,
  [ErrorCode.UpstreamUnavailable]: 503,
  [ErrorCode.ServerBusy]: 503,
};

export interface ExportOptions {
  pages: PolyvPages;
  /** The Polyv account whose income is reported. */
  accountId: string;
  limits: {
    /** GATEWAY_EXPORT_MAX_RECORDS and the exports in flight. */
    maxRecords: number;
    maxInFlight: number;
    maxPerClient: number;
    /** A client that reads nothing for this long is cut (GATEWAY_REQUEST_TIMEOUT_MS). */
    stallMs: number;
  };
  metrics: GatewayMetrics;
  logger: Logger;
  /** The one error formatter (server/errorFormatter.ts): failures to public codes. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}

/** The handler behind `EXPORT_PATH`, after authentication and rate limiting. */
export function exportHandler(options: ExportOptions): RequestHandler {
  const admission = new ExportAdmission(options.limits);
  // Every page once, and what one re-read past the cache may ask for again (stream.ts).
  const maxCalls =
    Math.ceil(options.limits.maxRecords / MAX_PAGE_SIZE) + 2 * (EXPORT_PAGES_IN_FLIGHT + 2);

  return async (request, response, next) => {
    const file = /^\/([\w-]+)\.csv$/.exec(request.path)?.[1];
    const kind = EXPORT_NAMES.includes(file as ExportName)
      ? EXPORTS[file as ExportName]
      : undefined;
    if (!kind) return next();

    const record = recordOf(response);
    const figures: ExportRecord = {
      list: kind.name,
      format: 'csv',
      records: undefined,
      rows: 0,
      bytes: 0,
      outcome: 'refused',
    };
    if (record) {
      record.operation = kind.name;
      record.export = figures;
    }
    const refuse = (error: unknown, headers: Record<string, string> = {}) => {
      const { message, extensions } = publicFailure(options.formatError, error);
      const { code, ...rest } = extensions;
      sendGraphQLError(response, STATUS[code] ?? 500, code, message, {
        extensions: rest,
        headers,
        graphqlLevel: false,
      });
    };

    if (request.method !== 'GET') {
      sendGraphQLError(
        response,
        405,
        ErrorCode.BadRequest,
        `Exports are read with GET; got ${request.method}.`,
        { headers: { allow: 'GET' }, graphqlLevel: false },
      );
      return;
    }

    let format: ExportFormat;
    let prepared;
    try {
      const parameters = readParameters(request, kind);
      format = readFormat(parameters.format);
      figures.format = format;
      prepared = kind.prepare(parameters, options.accountId);
      // Before any Polyv call: a key limited to some channels reads only those.
      authorise(principalOf(response), prepared.channelId);
    } catch (error) {
      return refuse(error);
    }

    const client = clientOf(request, response);
    const admitted = admission.admit(client);
    if ('refused' in admitted) {
      const perClient = admitted.refused === 'client';
      sendGraphQLError(
        response,
        perClient ? 429 : 503,
        perClient ? ErrorCode.RateLimited : ErrorCode.ServerBusy,
        perClient
          ? `${principalOf(response).name} has ${admitted.max} exports running, the most one client may; retry when one has finished.`
          : `This server is streaming ${admitted.max} exports, the most it streams at once; retry in a moment.`,
        {
          headers: { 'retry-after': String(BUSY_RETRY_AFTER_S) },
          extensions: {
            limit: perClient ? 'exportsPerClient' : 'exports',
            max: admitted.max,
            retryAfterSeconds: BUSY_RETRY_AFTER_S,
          },
          graphqlLevel: false,
        },
      );
      return;
    }
    options.metrics.exportsInFlight.inc();
    const gone = closed(response);
    try {
      const fresh = wantsFreshData(request.headers['cache-control'], request.headers.pragma);
      let started;
      try {
        started = await prepared.start(
          {
            pages: options.pages,
            options: {
              client,
              fresh,
              noStore: true,
              tally: record,
              budget: new CallBudget(maxCalls),
            },
            // Nothing is kept for the request: each page is let go once it is sent.
            held: new RecordBudget(0),
          },
          {
            maxRecords: options.limits.maxRecords,
            limitName: 'exportRecords',
            fresh,
            pagesInFlight: EXPORT_PAGES_IN_FLIGHT,
          },
        );
      } catch (error) {
        if (!gone.closed) refuse(error);
        else figures.outcome = 'disconnected';
        return;
      }
      figures.records = started.total;
      if (gone.closed) {
        figures.outcome = 'disconnected';
        return;
      }

      response.status(200).set({
        'content-type': MEDIA_TYPES[format],
        'content-disposition': `attachment; filename="${prepared.filename}.${format}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-export-records': String(started.total),
      });
      response.flushHeaders();
      const write = async (text: string) => {
        if (text === '') return;
        figures.bytes += Buffer.byteLength(text);
        await send(response, text, gone, options.limits.stallMs);
      };
      try {
        await write(started.preamble(format));
        for await (const chunk of started.chunks(format)) {
          figures.rows += chunk.rows;
          options.metrics.exportRows.inc({ list: kind.name, format }, chunk.rows);
          await write(chunk.text);
        }
      } catch (error) {
        if (error instanceof ClientGone || gone.closed) {
          figures.outcome = 'disconnected';
          return;
        }
        // Part way: nothing in the file can say so without it looking whole. Cut it. (A client
        // that stopped reading is cut too; it is told nothing, so no code is recorded.)
        const { message, extensions } =
          error instanceof Stalled
            ? { message: error.message, extensions: { stalled: true } }
            : publicFailure(options.formatError, error);
        if ('code' in extensions) record?.errorCodes.push(extensions.code);
        figures.outcome = 'failed';
        options.logger.warn(
          { requestId: record?.requestId, list: kind.name, rows: figures.rows, ...extensions },
          `export aborted part way: ${message}`,
        );
        response.destroy();
        return;
      }
      figures.outcome = 'complete';
      response.end();
    } finally {
      gone.stop();
      options.metrics.exportsInFlight.dec();
      admitted.release();
    }
  };
}

/** Exactly one value for each parameter the export takes (and `format`); nothing else. */
function readParameters(request: Request, kind: ExportKind): Parameters {
  const allowed = new Set([...kind.parameters, 'format']);
  const parameters: Parameters = {};
  for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
    if (!allowed.has(name))
      throw badUserInput(
        `\`${name}\` is not a parameter of this export; it takes ${[...allowed].map((known) => `\`${known}\``).join(', ')}.`,
        name,
      );
    if (typeof value !== 'string') throw badUserInput(`\`${name}\` must be given once.`, name);
    parameters[name] = value;
  }
  return parameters;
}

function readFormat(value: string | undefined): ExportFormat {
  if (value === undefined || value === 'csv') return 'csv';
  if (value === 'ndjson') return 'ndjson';
  throw badUserInput(
    `\`format\` is \`csv\` or \`ndjson\`; got ${JSON.stringify(value)}.`,
    'format',
  );
}

/** A failure as clients see it: its message and extensions, code included. */
function publicFailure(
  formatError: ExportOptions['formatError'],
  error: unknown,
): { message: string; extensions: Record<string, unknown> & { code: ErrorCode } } {
  const formatted = formatError(
    {
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof GraphQLError ? { extensions: error.extensions } : {}),
    },
    error,
  );
  const code =
    Object.values(ErrorCode).find((known) => known === formatted.extensions?.code) ??
    ErrorCode.InternalServerError;
  return { message: formatted.message, extensions: { ...formatted.extensions, code } };
}

/** The client went away before the export ended. */
class ClientGone extends Error {}
/** The client read nothing for the stall limit. */
class Stalled extends Error {}

/** Whether the connection has closed (the client went away, or we cut it). */
function closed(response: Response) {
  const state = {
    closed: response.destroyed,
    stop: () => response.off('close', onClose),
  };
  const onClose = () => {
    state.closed = !response.writableFinished;
  };
  response.on('close', onClose);
  return state;
}

/** Writes, waiting for the client to take what was written before when it lags. */
async function send(
  response: Response,
  text: string,
  gone: { closed: boolean },
  stallMs: number,
): Promise<void> {
  if (gone.closed) throw new ClientGone();
  if (response.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      response.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new ClientGone());
    const timer = setTimeout(
      () =>
        done(
          new Stalled(
            `the client read nothing for ${stallMs} ms (GATEWAY_REQUEST_TIMEOUT_MS); the export was cut`,
          ),
        ),
      stallMs,
    );
    response.on('drain', onDrain);
    response.on('close', onClose);
  });
}
