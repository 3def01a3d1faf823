/**
 * A gateway wired to its own emulator, both real HTTP servers on loopback ports: what every
 * end-to-end test talks to. Nothing of ours is mocked.
 */
import type { GatewayConfig } from '../../src/config/index.js';
import {
  startEmulator,
  type EmulatorOptions,
  type PolyvEmulator,
} from '../../src/emulator/index.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface Stack {
  emulator: PolyvEmulator;
  gateway: RunningGateway;
  /** POSTs a GraphQL operation to the gateway and returns the parsed answer. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface StackOptions {
  emulator?: EmulatorOptions;
  upstream?: Partial<GatewayConfig['upstream']>;
  /** Run as `npm start` does without credentials: the gateway starts its own emulator. */
  builtInEmulator?: boolean;
  /** Serve the playground (default: yes). */
  playground?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const external = options.builtInEmulator
    ? undefined
    : await startEmulator({ port: 0, ...options.emulator });
  const config: GatewayConfig = {
    polyv: external
      ? { mode: 'polyv', baseUrl: external.url, credentials: external.credentials }
      : { mode: 'emulator' },
    upstream: { timeoutMs: 2_000, retries: 2, maxConcurrency: 20, ...options.upstream },
    server: { port: 0, host: '127.0.0.1' },
    playground: options.playground ?? true,
    environment: 'test',
  };
  const gateway = await startGateway(config, createLogger({ level: 'silent' }));
  const emulator = external ?? gateway.emulator;
  if (!emulator) throw new Error('the gateway did not start its emulator');
  return {
    emulator,
    gateway,
    graphql: (query, variables) => postGraphQL(`${gateway.url}/graphql`, query, variables),
    async close() {
      await gateway.stop();
      await external?.close();
    },
  };
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}
