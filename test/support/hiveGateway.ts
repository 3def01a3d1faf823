/**
 * Hive Gateway (@graphql-hive/gateway-runtime), a router that forwards subscriptions to
 * subgraphs, in this process and served by node:http, for federation tests.
 *
 * Its modules are imported by a name the compiler does not follow, and typed here with what we
 * use of them: their types pull in graphql-yoga's, which re-declare graphql's
 * `GraphQLErrorExtensions.http.headers` as a plain object and so break, for the whole
 * program `npm run typecheck` checks, the Apollo `HeaderMap` our errors carry there.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the router subscribes to a subgraph: GraphQL over WebSocket, or over SSE. */
export type SubgraphSubscriptions = 'ws' | 'sse';

interface GatewayRuntime {
  (request: IncomingMessage, response: ServerResponse): void;
  dispose(): Promise<void> | void;
}
interface RuntimeModule {
  createGatewayRuntime(config: Record<string, unknown>): GatewayRuntime;
}

const RUNTIME: string = '@graphql-hive/gateway-runtime';
const HTTP_TRANSPORT: string = '@graphql-mesh/transport-http';
const WS_TRANSPORT: string = '@graphql-mesh/transport-ws';

export interface HiveGateway {
  /** Where GraphQL is served, SSE subscriptions included (`Accept: text/event-stream`). */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `supergraph`, calling `subgraph` (its name there) for subscriptions over `subscriptions`:
 * `ws` is configured for it; `sse` is the HTTP transport's default. The supergraph is given
 * whole: no schema registry or CDN is asked, and no usage is reported.
 */
export async function startHiveGateway(
  supergraph: string,
  subgraph: string,
  subscriptions: SubgraphSubscriptions,
): Promise<HiveGateway> {
  const { createGatewayRuntime } = (await import(RUNTIME)) as RuntimeModule;
  const http = ((await import(HTTP_TRANSPORT)) as { default: unknown }).default;
  const ws = ((await import(WS_TRANSPORT)) as { default: unknown }).default;
  const gateway = createGatewayRuntime({
    supergraph,
    transports: { http, ws },
    transportEntries:
      subscriptions === 'ws'
        ? { [subgraph]: { options: { subscriptions: { kind: 'ws', location: '/graphql' } } } }
        : // Its event streams are GETs: with API keys off, a GET must prove it is no cross-site
          // request (docs/subscriptions.md), as a router with keys would send its key.
          { [subgraph]: { headers: [['apollo-require-preflight', 'true']] } },
    logging: false,
    landingPage: false,
    graphiql: false,
  });
  const server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      // Subscriptions never end by themselves: their connections are closed, not waited for.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gateway.dispose();
    },
  };
}
