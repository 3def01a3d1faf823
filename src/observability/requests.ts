/**
 * One record per GraphQL request (and per export, server/exports/), filled in as the request
 * goes (who asked, which operation, how many upstream calls and cache hits, which error codes),
 * and turned at the end into one log line, metrics, and the request's span. An incoming
 * x-request-id is honoured and echoed; an incoming traceparent is continued.
 */
import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import type { RequestHandler, Response } from 'express';
import { ErrorCode } from '../publicErrors.js';
import type { Logger } from '../logger.js';
import type { GatewayMetrics } from './metrics.js';
import { incomingContext, tracer } from './tracing.js';

export interface RequestRecord {
  requestId: string;
  operation: string | undefined;
  upstreamCalls: number;
  cacheHits: number;
  errorCodes: string[];
  responseCache: 'hit' | 'miss' | undefined;
  /** What ran the operation (server/executor.ts); undefined: nothing did (refused, or cached). */
  execution: 'compiled' | 'graphql-js' | undefined;
  /** An export's own figures (server/exports/); absent for GraphQL requests. */
  export?: ExportRecord | undefined;
  span: Span;
}

/** What an export did: its list and format, what it sent, and how it ended. */
export interface ExportRecord {
  list: string;
  format: string;
  /** The list's length as its first page said (red packs, income records); unknown if refused. */
  records: number | undefined;
  /** Rows sent (receives for the receives export). */
  rows: number;
  bytes: number;
  /** `complete`; `refused` (a JSON error, nothing streamed); `failed` or `disconnected` part way. */
  outcome: 'complete' | 'refused' | 'failed' | 'disconnected';
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const records = new WeakMap<Response, RequestRecord>();

/** The record of the request this response answers, if it went through observeRequests. */
export const recordOf = (response: Response): RequestRecord | undefined => records.get(response);

export function observeRequests(options: {
  logger: Logger;
  metrics: GatewayMetrics;
  /** The API key name that asked (from the access middleware). */
  principalName: (response: Response) => string;
  /**
   * `export`: a streamed export (server/exports/): its span and log line are named so, its
   * duration goes to the export metrics, and it is recorded when the connection closes, since
   * an export aborted part way never finishes. Default `graphql`.
   */
  kind?: 'graphql' | 'export';
}): RequestHandler {
  const kind = options.kind ?? 'graphql';
  return (request, response, next) => {
    const started = performance.now();
    const incoming = request.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    response.setHeader('x-request-id', requestId);
    const parent = incomingContext(request.headers);
    const span = tracer().startSpan(
      kind,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method } },
      parent,
    );
    const record: RequestRecord = {
      requestId,
      operation: undefined,
      upstreamCalls: 0,
      cacheHits: 0,
      errorCodes: [],
      responseCache: undefined,
      execution: undefined,
      span,
    };
    records.set(response, record);

    let recorded = false;
    response.on(kind === 'export' ? 'close' : 'finish', () => {
      if (recorded) return;
      recorded = true;
      const seconds = (performance.now() - started) / 1000;
      const operation = options.metrics.operationLabel(record.operation);
      const apiKey = options.principalName(response);
      const exported = record.export;
      if (kind === 'graphql') options.metrics.graphqlDuration.observe({ operation }, seconds);
      else if (exported)
        options.metrics.exportDuration.observe(
          { list: exported.list, format: exported.format, outcome: exported.outcome },
          seconds,
        );
      for (const code of record.errorCodes) options.metrics.graphqlErrors.inc({ code });
      // Whichever status it went out with (429, or 200 to application/json clients).
      if (record.errorCodes.includes(ErrorCode.RateLimited))
        options.metrics.rateLimited.inc({ key: apiKey });
      if (record.responseCache === 'hit') options.metrics.responseCacheHits.inc();

      span.updateName(`${kind} ${record.operation ?? 'anonymous'}`);
      span.setAttributes({
        'graphql.operation.name': record.operation ?? '',
        'http.response.status_code': response.statusCode,
        'gateway.request_id': requestId,
        'gateway.api_key': apiKey,
        'gateway.upstream_calls': record.upstreamCalls,
        'gateway.cache_hits': record.cacheHits,
      });
      if (record.errorCodes.length > 0)
        span.setStatus({ code: SpanStatusCode.ERROR, message: record.errorCodes.join(',') });
      span.end();

      options.logger.info(
        {
          requestId,
          operation: record.operation ?? null,
          apiKey,
          status: response.statusCode,
          durationMs: Math.round(seconds * 10_000) / 10,
          upstreamCalls: record.upstreamCalls,
          cacheHits: record.cacheHits,
          responseCache: record.responseCache ?? null,
          execution: record.execution ?? null,
          errorCodes: record.errorCodes,
          ...(exported ? { export: exported } : {}),
        },
        `${kind} request`,
      );
    });
    // Everything downstream (Apollo, resolvers, upstream calls) runs inside the request's span.
    context.with(trace.setSpan(parent, span), next);
  };
}

/** Notes the operation's name and the error codes it answered with on the request's record. */
export function recordPlugin(): ApolloServerPlugin<{ record: RequestRecord | undefined }> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName, contextValue }) {
          if (contextValue.record) contextValue.record.operation = operationName ?? undefined;
        },
        async willSendResponse({ response, contextValue }) {
          const errors =
            response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          for (const error of errors) {
            const code = error.extensions?.code;
            contextValue.record?.errorCodes.push(
              typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR',
            );
          }
        },
      };
    },
  };
}
