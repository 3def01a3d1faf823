/**
 * Assembles a running gateway from a validated configuration: the upstream (real Polyv or
 * the built-in emulator), the one signed client, and the HTTP server.
 */
import type { GatewayConfig } from './config/index.js';
import { cstDayOf } from './domain/convert.js';
import { startEmulator, type PolyvEmulator } from './emulator/index.js';
import type { Logger } from './logger.js';
import { PolyvHttpClient } from './polyv/http.js';
import { startGatewayServer, type GatewayServer } from './server/app.js';

export interface RunningGateway extends GatewayServer {
  /** The in-process emulator, when the gateway runs without Polyv credentials. */
  emulator: PolyvEmulator | undefined;
}

export async function startGateway(config: GatewayConfig, logger: Logger): Promise<RunningGateway> {
  let emulator: PolyvEmulator | undefined;
  let upstream: { baseUrl: string; appId: string; appSecret: string; userId: string };
  if (config.polyv.mode === 'emulator') {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    upstream = { baseUrl: emulator.url, ...emulator.credentials };
    const banner = 'NO POLYV CREDENTIALS: serving DEMO DATA from the built-in Polyv emulator';
    logger.warn({ emulatorUrl: emulator.url }, `*** ${banner} ***`);
    logger.warn(
      '*** Set POLYV_APP_ID, POLYV_APP_SECRET and POLYV_USER_ID to serve your real Polyv account. ***',
    );
  } else {
    upstream = { baseUrl: config.polyv.baseUrl, ...config.polyv.credentials };
    logger.info(
      { polyvBaseUrl: upstream.baseUrl, appId: upstream.appId },
      'serving the Polyv account',
    );
  }

  const client = new PolyvHttpClient({
    baseUrl: upstream.baseUrl,
    appId: upstream.appId,
    appSecret: upstream.appSecret,
    timeoutMs: config.upstream.timeoutMs,
    retries: config.upstream.retries,
    maxConcurrency: config.upstream.maxConcurrency,
  });
  const server = await startGatewayServer({
    client,
    accountId: upstream.userId,
    logger,
    port: config.server.port,
    host: config.server.host,
    playground: config.playground ? { exampleVariables: exampleVariables(emulator) } : undefined,
  });
  logger.info({ url: `${server.url}/graphql`, playground: config.playground }, 'gateway listening');

  return {
    ...server,
    emulator,
    async stop() {
      await server.stop();
      await emulator?.close();
    },
  };
}

/** The playground's example: the emulator's busiest channel, or a placeholder and the last week. */
function exampleVariables(emulator: PolyvEmulator | undefined) {
  if (emulator) return { channel: '2812610', from: '2026-11-01', to: '2026-11-19' };
  const day = 24 * 60 * 60 * 1000;
  return {
    channel: 'YOUR_CHANNEL_NUMBER',
    from: cstDayOf(Date.now() - 6 * day),
    to: cstDayOf(Date.now()),
  };
}
