/**
 * The live transports, both at /graphql: GraphQL over WebSocket (the graphql-ws protocol, which
 * Apollo Router and Hive Gateway speak to subgraphs) and GraphQL over Server-Sent Events
 * (graphql-sse's distinct connections: a request with `Accept: text/event-stream`, which passes
 * proxies that refuse WebSockets). They carry subscriptions only; queries keep their own path
 * (POST/GET, with its cache and execution gate).
 *
 * Both take the key as queries do (a WebSocket may also send it in its `connection_init`
 * payload, as browsers cannot set headers on one; a wrong one counts against the address as a
 * wrong key in a header does), prepare the document through the same step as queries
 * (prepare.ts: size, parser bound, validation budget, validation, masking, CPU charged to the
 * key), measure it as the query that would read the same records (a snapshot of `recent: N` is N
 * records through the selection) and refuse any whose events would ask Polyv again: an event
 * carries its data. What a subscription holds (its document, its snapshot's turn in the
 * execution gate) is admitted by liveAdmission.ts. Both keep connections alive (a WebSocket
 * ping, which must be answered by the next; an SSE comment), and drop a consumer that leaves
 * too much unread (live/hub.ts) with the reason as its close reason. A WebSocket with no
 * subscription for GATEWAY_LIVE_IDLE_MS is closed. Event streams pass the same CSRF check as
 * queries (csrf.ts, in front of both in app.ts).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { createHandler as createSseHandler } from 'graphql-sse';
import { CloseCode, makeServer, type Context as WsContext } from 'graphql-ws';
import proxyAddr from 'proxy-addr';
import { WebSocketServer, type WebSocket } from 'ws';
import { ANONYMOUS, authenticate, type Principal } from '../auth/apiKeys.js';
import type { GatewayConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../publicErrors.js';
import type { TokenBuckets } from '../ratelimit/tokenBucket.js';
import type { LiveContext } from '../schema/context.js';
import { clientOf, presentedKey, principalOf } from './access.js';
import type { GatewayContext } from './graphqlHandler.js';
import { limitExceeded, measureRequest, type CostLimits } from './limits/cost.js';
import { heldWeight, type ConcurrencyGate } from './limits/runtime.js';
import { admitSubscription, HeldDocuments } from './liveAdmission.js';
import { withArgument } from './argumentOf.js';
import { PREPARE_MS_PER_REQUEST, withCode, type OperationPreparer } from './prepare.js';

export interface LiveTransportOptions {
  schema: GraphQLSchema;
  /** The one step every operation's document passes (prepare.ts). */
  preparer: OperationPreparer;
  /** The one execution gate: snapshots take their turn in it as queries do. */
  gate: ConcurrencyGate;
  /** Where GraphQL is served: both transports are there too. */
  path: string;
  auth: GatewayConfig['auth'];
  clientBuckets: TokenBuckets;
  limits: CostLimits & { maxBodyBytes: number; requestTimeoutMs: number };
  live: GatewayConfig['live'];
  corsOrigins: GatewayConfig['http']['corsOrigins'];
  /** Who may say who the client is: express's own compiled `trust proxy` (`trust proxy fn`). */
  trustProxy: (address: string, hop: number) => boolean;
  /** The one error formatter (errorFormatter.ts). */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** A subscription's context: its way to the hub, and no upstream budget. */
  context(
    principal: Principal,
    client: string,
    live: Pick<LiveContext, 'drop' | 'admit'>,
  ): GatewayContext;
  logger: Logger;
}

/** A WebSocket close code for a consumer that reads too slowly: policy violation. */
const SLOW_CONSUMER_CLOSE = 1008;
/** The longest subscription id a WebSocket client may give (graphql-ws repeats it in every message). */
const MAX_SUBSCRIPTION_ID = 128;
/** Idle WebSockets close normally: nothing is wrong, there was nothing to carry. */
const IDLE_CLOSE = 1000;

/** What a live connection knows about who is on the other end. */
interface Caller {
  principal: Principal;
  client: string;
}

export interface LiveTransports {
  /** Express middleware: event-stream requests get SSE, the rest go on. */
  sse: RequestHandler;
  /** Closes every live connection (on shutdown). */
  close(): Promise<void>;
}

/** A request that wants an event stream (graphql-sse's distinct connections). */
export const wantsEventStream = (request: Request) =>
  request.headers.accept === 'text/event-stream';

export function liveTransports(
  httpServer: http.Server,
  options: LiveTransportOptions,
): LiveTransports {
  const documents = new HeldDocuments({
    maxBytes: options.live.maxDocumentBytes,
    maxBytesPerClient: Math.max(1, Math.floor(options.live.maxDocumentBytes / 4)),
  });
  const ws = webSocketTransport(httpServer, options, documents);
  const sse = eventStreamTransport(options, documents);
  return {
    sse,
    close: ws.close,
  };
}

/** A subscription ready to start: its execution arguments, and its context but for the hub. */
interface PreparedSubscription {
  args: Omit<ExecutionArgs, 'contextValue'>;
  admit: LiveContext['admit'];
}

/**
 * A subscription prepared as a query is (prepare.ts), measured as the query that would read the
 * same records, and refused when its events would ask Polyv again; or the errors to answer with
 * (nothing has been started).
 */
async function prepareSubscription(
  payload: { query?: unknown; variables?: unknown; operationName?: unknown },
  client: string,
  options: LiveTransportOptions,
  documents: HeldDocuments,
): Promise<PreparedSubscription | GraphQLError[]> {
  const { schema, limits } = options;
  const { query, variables, operationName } = payload;
  if (typeof query !== 'string' || query.trim() === '')
    return [badRequest('A subscription needs `query`, a GraphQL document.')];
  const { prepared, spentMs } = options.preparer.prepare(query);
  const tokens = Math.floor(spentMs / PREPARE_MS_PER_REQUEST);
  if (tokens > 0) await options.clientBuckets.charge(client, tokens);
  if ('errors' in prepared) return prepared.errors;
  const { document } = prepared;
  const name = typeof operationName === 'string' ? operationName : undefined;
  const operation = getOperationAST(document, name);
  if (!operation) return [badRequest('Name the operation to run (`operationName`).')];
  if (operation.operation !== 'subscription')
    return [
      badRequest(
        `This connection carries subscriptions; send ${operation.operation === 'query' ? 'queries' : 'mutations'} to ${options.path} with POST or GET.`,
      ),
    ];
  const variableValues =
    typeof variables === 'object' && variables !== null && !Array.isArray(variables)
      ? (variables as Record<string, unknown>)
      : undefined;
  let snapshotWeight = 0;
  try {
    // One event's measure: what one record through the selection costs.
    const measure = measureRequest(schema, document, operation, variableValues, limits);
    // Nothing to measure: the variables do not coerce, the client's to fix before anything starts.
    if (!measure) {
      const { errors = [] } = getVariableValues(
        schema,
        operation.variableDefinitions ?? [],
        variableValues ?? {},
      );
      return errors.map((error) => withCode(withArgument(document, error), ErrorCode.BadUserInput));
    }
    if (measure.upstreamCalls > 0)
      return [
        limitExceeded(
          'upstreamCalls',
          "A subscription's events carry their data: fields that ask Polyv again (a channel's lists or summaries) cannot be part of one. Query them separately.",
          { max: 0, actual: measure.upstreamCalls },
        ),
      ];
    // The snapshot is `recent` records at once: the query that reads them costs that many times
    // one event (and is refused where that query would be).
    const recent = snapshotSize(schema, operation, variableValues);
    const cost = Math.max(1, recent) * measure.cost;
    if (cost > limits.maxCost)
      return [
        limitExceeded(
          'cost',
          `The subscription's snapshot (${recent} red packs through this selection) has an estimated cost of ${cost}; the limit is ${limits.maxCost}. Ask for fewer red packs in \`recent\` or fewer fields.`,
          { max: limits.maxCost, actual: cost },
        ),
      ];
    snapshotWeight = recent > 0 ? heldWeight({ records: recent, cost }) : 0;
  } catch (error) {
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  return {
    args: { schema, document, operationName: name, variableValues },
    admit: (start) =>
      admitSubscription(
        {
          documents,
          gate: options.gate,
          client,
          document: prepared,
          snapshotWeight,
          timeoutMs: limits.requestTimeoutMs,
        },
        start,
      ),
  };
}

/** The `recent` a subscription asks for (0 when it has none, or it cannot be read yet). */
function snapshotSize(
  schema: GraphQLSchema,
  operation: NonNullable<ReturnType<typeof getOperationAST>>,
  variableValues: Record<string, unknown> | undefined,
): number {
  const root = schema.getSubscriptionType();
  const field = operation.selectionSet.selections.find(
    (selection) => selection.kind === Kind.FIELD,
  );
  if (!root || !field || field.kind !== Kind.FIELD) return 0;
  const definition = root.getFields()[field.name.value];
  if (!definition?.args.some((argument) => argument.name === 'recent')) return 0;
  const { coerced } = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    variableValues ?? {},
  );
  try {
    const { recent } = getArgumentValues(definition, field, coerced ?? {});
    // Out of range is refused by the resolver before anything is read; counted as the most.
    return typeof recent === 'number' && Number.isInteger(recent)
      ? Math.min(Math.max(recent, 0), 100)
      : 100;
  } catch {
    return 100;
  }
}

/** Formats an execution result's errors with the one formatter, as Apollo does for queries. */
function formatResult(
  result: ExecutionResult,
  options: LiveTransportOptions,
): FormattedExecutionResult {
  const { errors, ...rest } = result;
  return errors
    ? { ...rest, errors: errors.map((error) => options.formatError(error.toJSON(), error)) }
    : rest;
}

// ---------------------------------------------------------------------------------------------
// GraphQL over WebSocket

/** What we keep on a connection. */
interface ConnectionState extends Record<PropertyKey, unknown> {
  socket: WebSocket;
  request: http.IncomingMessage;
  caller?: Caller;
  /** Since when the connection has carried no subscription (epoch ms); undefined: it has some. */
  idleSince: number | undefined;
}

function webSocketTransport(
  httpServer: http.Server,
  options: LiveTransportOptions,
  documents: HeldDocuments,
) {
  const { path, live, logger } = options;
  /** The client's address, trusting X-Forwarded-For exactly as far as express does for queries. */
  const addressOf = (request: http.IncomingMessage) => proxyAddr(request, options.trustProxy);

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.limits.maxBodyBytes });
  const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== path) return refuseUpgrade(socket, 404, 'Not Found');
    // A browser page may open a WebSocket to any origin; only allowed ones get ours.
    const origin = request.headers.origin;
    const origins = options.corsOrigins;
    if (origin && origins !== '*' && !origins.includes(origin))
      return refuseUpgrade(socket, 403, 'Forbidden');
    wss.handleUpgrade(request, socket, head, (webSocket) =>
      wss.emit('connection', webSocket, request),
    );
  };
  httpServer.on('upgrade', onUpgrade);

  /** Acknowledged connections, for the idle sweep. */
  const connections = new Map<WebSocket, ConnectionState>();
  const close = (socket: WebSocket, code: number, reason: string) =>
    // A close reason may hold at most 123 bytes.
    socket.close(code, Buffer.from(reason).subarray(0, 123).toString());
  type Context = WsContext<Record<string, unknown> | undefined, ConnectionState>;

  const server = makeServer<Record<string, unknown> | undefined, ConnectionState>({
    schema: options.schema,
    async onConnect(context: Context) {
      const extra = context.extra;
      const { request, socket } = extra;
      const address = addressOf(request);
      const params = context.connectionParams ?? {};
      const header = (name: string): string | undefined => {
        const value = request.headers[name] ?? params[name] ?? params[name.toLowerCase()];
        return typeof value === 'string' ? value : undefined;
      };
      let principal: Principal | undefined = ANONYMOUS;
      if (options.auth.mode === 'keys') {
        const apiKey = params['apiKey'];
        const key =
          presentedKey(header('authorization') ?? header('Authorization'), header('x-api-key')) ??
          (typeof apiKey === 'string' ? apiKey : undefined);
        principal = key === undefined ? undefined : authenticate(options.auth.keys, key);
        if (!principal) {
          // Counted per address as a wrong key in a header is (access.ts), in the same bucket.
          const counted = await options.clientBuckets.take(`unauthenticated:${address}`);
          if (!counted.ok) {
            close(
              socket,
              CloseCode.TooManyInitialisationRequests,
              `RATE_LIMITED: too many failed key checks; retry in ${Math.max(1, Math.ceil(counted.retryAfterMs / 1000))} s`,
            );
            return false;
          }
          close(
            socket,
            CloseCode.Unauthorized,
            key === undefined
              ? 'UNAUTHENTICATED: send the API key as connection_init { "authorization": "Bearer <key>" }'
              : 'UNAUTHENTICATED: the API key is not valid',
          );
          return false;
        }
      }
      const client = principal === ANONYMOUS ? `ip:${address}` : `key:${principal.name}`;
      const taken = await options.clientBuckets.take(client);
      if (!taken.ok) {
        close(
          socket,
          CloseCode.TooManyInitialisationRequests,
          `RATE_LIMITED: retry in ${Math.max(1, Math.ceil(taken.retryAfterMs / 1000))} s`,
        );
        return false;
      }
      extra.caller = { principal, client };
      extra.idleSince = Date.now();
      connections.set(socket, extra);
      socket.once('close', () => connections.delete(socket));
      return true;
    },
    async onSubscribe(context: Context, id, payload) {
      const extra = context.extra;
      const caller = extra.caller!;
      if (Buffer.byteLength(id) > MAX_SUBSCRIPTION_ID) {
        close(
          extra.socket,
          CloseCode.BadRequest,
          `BAD_REQUEST: a subscription id may have at most ${MAX_SUBSCRIPTION_ID} bytes`,
        );
        return [badRequest(`A subscription id may have at most ${MAX_SUBSCRIPTION_ID} bytes.`)];
      }
      // This subscription is already counted in `subscriptions`.
      const open = Object.keys(context.subscriptions).length;
      if (open > live.maxPerConnection)
        return [
          limitExceeded(
            'subscriptionsPerConnection',
            `This connection carries the ${live.maxPerConnection} subscriptions one may; open another connection.`,
            { max: live.maxPerConnection },
          ),
        ];
      const taken = await options.clientBuckets.take(caller.client);
      if (!taken.ok)
        return [
          new GraphQLError(
            `Too many requests for ${caller.principal.name}; retry in ${Math.max(1, Math.ceil(taken.retryAfterMs / 1000))} s.`,
            {
              extensions: { code: ErrorCode.RateLimited },
            },
          ),
        ];
      const prepared = await prepareSubscription(payload, caller.client, options, documents);
      if (Array.isArray(prepared)) return prepared;
      extra.idleSince = undefined;
      return {
        ...prepared.args,
        contextValue: options.context(caller.principal, caller.client, {
          drop: (reason) => close(extra.socket, SLOW_CONSUMER_CLOSE, reason),
          admit: prepared.admit,
        }),
      };
    },
    onNext: (_context, _id, _payload, _args, result) => formatResult(result, options),
    onError: (_context, _id, _payload, errors) =>
      errors.map((error) => options.formatError(error.toJSON(), error)),
    onComplete(context: Context) {
      // Called before the operation leaves `subscriptions`: it was the last when one is left.
      if (Object.keys(context.subscriptions).length <= 1) context.extra.idleSince = Date.now();
    },
  });

  // graphql-ws's own adapter for ws (graphql-ws/use/ws) prints every socket error and every
  // unexpected message with console.error, stack and all, and closes with 4500 as if it were
  // our failure. This one is the same glue with our log (one JSON line) and a client's protocol
  // mistake answered as one: 4400.
  wss.on('connection', (socket: WebSocket, request: http.IncomingMessage) => {
    socket.once('error', (error: Error & { code?: string }) => {
      // Frames ws cannot read (bad opcode, invalid UTF-8, over maxPayload): ws closes the socket.
      logger.info(
        { code: error.code, reason: error.message },
        'live: WebSocket closed on a protocol error',
      );
    });
    let pongWait: NodeJS.Timeout | undefined;
    const pings = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      // A client that does not answer a ping by the next one is gone.
      pongWait = setTimeout(() => socket.terminate(), live.keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, live.keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data: Buffer) => {
            handle(String(data)).catch((error: unknown) => {
              const message = error instanceof Error ? error.message : String(error);
              if (message.startsWith('Unexpected message of type')) {
                close(socket, CloseCode.BadRequest, `BAD_REQUEST: ${message}`);
                return;
              }
              logger.error({ err: error }, 'live: a WebSocket message failed unexpectedly');
              close(socket, CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request, idleSince: undefined },
    );
    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(pongWait);
      clearInterval(pings);
      void closed(code, String(reason));
    });
  });

  // Idle connections: none is kept open for nothing.
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [socket, extra] of connections)
        if (extra.idleSince !== undefined && now - extra.idleSince > live.idleMs)
          close(
            socket,
            IDLE_CLOSE,
            `IDLE: no subscription for ${Math.round(live.idleMs / 1000)} s`,
          );
    },
    Math.min(5_000, Math.max(250, Math.floor(live.idleMs / 4))),
  );
  sweeper.unref();

  return {
    close: async () => {
      clearInterval(sweeper);
      httpServer.off('upgrade', onUpgrade);
      for (const socket of wss.clients) close(socket, 1001, 'The gateway is shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('live: WebSocket server closed');
    },
  };
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// ---------------------------------------------------------------------------------------------
// GraphQL over Server-Sent Events

/** graphql-sse wants a context it can index; ours is the same GatewayContext queries get. */
type SseContext = GatewayContext & Record<PropertyKey, unknown>;

/**
 * A stream's result on its way to the socket. graphql-sse takes the next result from the
 * subscription as soon as `onNext` returns and queues it without bound while the socket is
 * slow; `onNext` waits until the previous result is written instead, so unread results wait in
 * the subscriber's bounded queue (live/hub.ts), exactly as they do behind a WebSocket.
 */
interface Flow {
  /** A result was handed to graphql-sse and is not written yet. */
  writing: boolean;
  /** Lets the `onNext` waiting for that write go on. */
  wake: (() => void) | undefined;
  /** The response is closed: nothing waits for a write any more. */
  closed: boolean;
}

function eventStreamTransport(
  options: LiveTransportOptions,
  documents: HeldDocuments,
): RequestHandler {
  const flows = new WeakMap<GatewayContext, Flow>();
  const flowOfResponse = new WeakMap<Response, Flow>();
  const handler = createSseHandler<Request, { res: Response }, SseContext>({
    schema: options.schema,
    // Distinct connections only: one subscription per request, authenticated like a query.
    authenticate: () => null,
    async onSubscribe(request, params) {
      const response = request.context.res;
      const client = clientOf(request.raw, response);
      const prepared = await prepareSubscription(params, client, options, documents);
      // Refused: the errors go out on the stream (`next`, then `complete`). graphql-sse takes a
      // returned object for a result only if it has a `data` key, and for execution arguments
      // otherwise (answering 400 "Unable to detect operation AST" and losing our errors); an
      // undefined `data` is not serialized, so the client gets `{ errors }` as for a query.
      if (Array.isArray(prepared)) return { data: undefined, errors: prepared };
      const contextValue = options.context(principalOf(response), client, {
        drop: (reason) => {
          // The stream cannot carry a close reason: log it, and end the stream.
          options.logger.info({ reason }, 'live: event stream dropped');
          response.destroy();
        },
        admit: prepared.admit,
      });
      const flow: Flow = { writing: false, wake: undefined, closed: false };
      flows.set(contextValue, flow);
      flowOfResponse.set(response, flow);
      response.once('close', () => {
        flow.closed = true;
        flow.wake?.();
      });
      return { ...prepared.args, contextValue: contextValue as SseContext };
    },
    async onNext(context, _request, result) {
      const flow = context ? flows.get(context) : undefined;
      if (flow) {
        while (flow.writing && !flow.closed)
          await new Promise<void>((resolve) => (flow.wake = resolve));
        flow.wake = undefined;
        flow.writing = true;
      }
      return formatResult(result as ExecutionResult, options) as ExecutionResult;
    },
  });

  return (request, response, next) => {
    if (!wantsEventStream(request)) return next();
    void (async () => {
      const [body, init] = await handler({
        method: request.method,
        url: request.originalUrl,
        headers: {
          get: (name: string) => {
            const value = request.headers[name.toLowerCase()];
            return Array.isArray(value) ? value.join('\n') : value;
          },
        },
        // express.json has read a POST body; a GET carries its parameters in the URL.
        body: () => (request.body as Record<string, unknown> | undefined) ?? '',
        raw: request,
        context: { res: response },
      });
      response.writeHead(
        init.status ?? 200,
        init.statusText,
        init.headers as http.OutgoingHttpHeaders,
      );
      if (!body || typeof body === 'string') return void response.end(body);
      const stop = () => void body.return(undefined);
      response.once('close', stop);
      response.flushHeaders();
      for await (const chunk of body) {
        if (!response.writable) break;
        await new Promise<void>((resolve, reject) =>
          response.write(chunk, (error) => (error ? reject(error) : resolve())),
        );
        if (chunk.startsWith('event: next')) {
          const flow = flowOfResponse.get(response);
          if (flow) {
            flow.writing = false;
            flow.wake?.();
          }
        }
      }
      response.off('close', stop);
      response.end();
    })().catch((error: unknown) => {
      if (!response.headersSent) return next(error);
      response.destroy();
    });
  };
}

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BadRequest } });
}
