/**
 * A gateway wired to its own emulator, both real HTTP servers on loopback ports: what every
 * end-to-end test talks to. Nothing of ours is mocked; the gateway is configured the way an
 * operator configures it, through environment variables read by loadConfig.
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/index.js';
import {
  DEFAULT_LAST_DAY,
  startEmulator,
  type EmulatorOptions,
  type PolyvEmulator,
} from '../../emulator/index.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface Stack {
  emulator: PolyvEmulator;
  gateway: RunningGateway;
  /** Every log line the gateway wrote, parsed. */
  logs: Record<string, unknown>[];
  /** POSTs a GraphQL operation to the gateway and returns the parsed answer. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface StackOptions {
  emulator?: EmulatorOptions;
  /** Environment variables for the gateway, on top of the test defaults below. */
  env?: Record<string, string>;
  /** Run as `npm start` does without credentials: the gateway starts its own emulator. */
  builtInEmulator?: boolean;
  /** Serve this (already running) emulator, e.g. one shared by several gateways. */
  sharedEmulator?: PolyvEmulator;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const owned =
    options.builtInEmulator || options.sharedEmulator
      ? undefined
      : await startEmulator({ port: 0, ...options.emulator });
  const external = options.sharedEmulator ?? owned;
  const polyvEnv = external
    ? {
        POLYV_BASE_URL: external.url,
        POLYV_APP_ID: external.credentials.appId,
        POLYV_APP_SECRET: external.credentials.appSecret,
        POLYV_USER_ID: external.credentials.userId,
        GATEWAY_AUTH: 'off',
      }
    : // The built-in emulator's data on the fixed days the tests' dates are written for.
      { EMULATOR_LAST_DAY: DEFAULT_LAST_DAY };
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    // Long enough that a starved machine never times out (and retries) a big page: suites that
    // count calls must see one per page. Suites about timeouts set their own.
    POLYV_TIMEOUT_MS: '15000',
    // Suites about upstream behaviour need every request to reach Polyv; cache.test.ts turns it on.
    GATEWAY_CACHE: 'off',
    // Tests send many requests from one address; the client limit has tests of its own.
    GATEWAY_RATE_PER_SECOND: '100000',
    GATEWAY_RATE_BURST: '100000',
    POLYV_RATE_PER_SECOND: '100000',
    POLYV_RATE_BURST: '100000',
    ...polyvEnv,
    ...options.env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const gateway = await startGateway(config, createLogger({ level: 'debug', destination: sink }));
  // The gateway's own is the emulator of emulator/, started by the gateway's dynamic import.
  const emulator = external ?? (gateway.emulator as PolyvEmulator | undefined);
  if (!emulator) throw new Error('the gateway did not start its emulator');
  return {
    emulator,
    gateway,
    logs,
    graphql: (query, variables, headers) =>
      postGraphQL(`${gateway.url}/graphql`, query, variables, headers),
    async close() {
      await gateway.stop();
      await owned?.close();
    },
  };
}

export async function postGraphQL<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}
