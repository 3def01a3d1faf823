/**
 * The HTTP server: Apollo Server (our subgraph schema) on /graphql behind express, plus
 * /healthz. Returns handles to start, address and stop it; nothing here reads the environment.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { Logger } from '../logger.js';
import type { PolyvHttpClient } from '../polyv/http.js';
import { buildSchema } from '../schema/index.js';
import { createContext, type GatewayContext } from './context.js';
import { createErrorFormatter } from './errors.js';
import { checkPlaygroundAssets, playgroundRouter, type PlaygroundOptions } from './playground.js';

export interface GatewayServerOptions {
  client: PolyvHttpClient;
  /** The Polyv account whose income is reported. */
  accountId: string;
  logger: Logger;
  port: number;
  host: string;
  /** Serve GraphiQL at GET /graphql (and /) with this example; absent: no playground. */
  playground?: Omit<PlaygroundOptions, 'endpoint'> | undefined;
}

/** Where GraphQL is served. */
export const GRAPHQL_PATH = '/graphql';

export interface GatewayServer {
  /** Base URL, e.g. http://127.0.0.1:4000; GraphQL is at `${url}/graphql`. */
  url: string;
  httpServer: http.Server;
  stop(): Promise<void>;
}

export async function startGatewayServer(options: GatewayServerOptions): Promise<GatewayServer> {
  const app = express();
  app.disable('x-powered-by');
  const httpServer = http.createServer(app);

  const apollo = new ApolloServer<GatewayContext>({
    schema: buildSchema(),
    // Apollo's own notices go to our log, as JSON like every other line.
    logger: options.logger.child({ component: 'apollo' }),
    formatError: createErrorFormatter(options.logger),
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (src/index.ts): Apollo's handler would re-raise the signal and skip it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's default landing page loads from a CDN; our own playground replaces it.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  if (options.playground) {
    checkPlaygroundAssets();
    app.use(playgroundRouter({ endpoint: GRAPHQL_PATH, ...options.playground }));
  }
  app.use(
    GRAPHQL_PATH,
    express.json({ limit: '100kb' }),
    expressMiddleware(apollo, {
      context: async () => createContext({ client: options.client, accountId: options.accountId }),
    }),
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, resolve);
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    httpServer,
    async stop() {
      await apollo.stop();
      options.client.close();
    },
  };
}
