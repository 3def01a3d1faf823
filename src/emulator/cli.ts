/**
 * `npm run emulator`: runs the Polyv emulator standalone, e.g. to point a gateway, curl
 * or a load test at it. Options come from the command line, then the environment:
 *
 *   --port    / EMULATOR_PORT        default 8900
 *   --host    / EMULATOR_HOST        default 127.0.0.1
 *   --latency / EMULATOR_LATENCY_MS  default 0
 *   --seed    / EMULATOR_SEED        default 42
 *   --big-channel-red-packs N / EMULATOR_BIG_CHANNEL_RED_PACKS
 *             adds channel 2812699 with N generated red packs (for benchmarks); default 0
 */
import { parseArgs } from 'node:util';
import { CONTROL_PATH_PREFIX, startEmulator } from './server.js';

const DEFAULT_PORT = 8900;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      latency: { type: 'string' },
      seed: { type: 'string' },
      'big-channel-red-packs': { type: 'string' },
    },
  });
  const env = process.env;
  const emulator = await startEmulator({
    port: integerOption('port', values.port ?? env['EMULATOR_PORT'], DEFAULT_PORT),
    host: values.host ?? env['EMULATOR_HOST'] ?? '127.0.0.1',
    latencyMs: integerOption('latency', values.latency ?? env['EMULATOR_LATENCY_MS'], 0),
    seed: integerOption('seed', values.seed ?? env['EMULATOR_SEED'], 42),
    bigChannelRedPacks: integerOption(
      'big-channel-red-packs',
      values['big-channel-red-packs'] ?? env['EMULATOR_BIG_CHANNEL_RED_PACKS'],
      0,
    ),
  });

  const { appId, appSecret, userId } = emulator.credentials;
  console.log(`Polyv emulator listening on ${emulator.url}`);
  console.log(`  appId=${appId}  appSecret=${appSecret}  userId=${userId}  (demo credentials)`);
  console.log(`  control API: ${emulator.url}${CONTROL_PATH_PREFIX}stats`);

  const shutdown = (): void => {
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('polyv emulator: error while closing', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** A whole-number option, or the default when unset; anything else stops the program. */
function integerOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`--${name} must be an integer: ${text}`);
  return value;
}

main().catch((error: unknown) => {
  console.error('polyv emulator:', error instanceof Error ? error.message : error);
  process.exit(1);
});
