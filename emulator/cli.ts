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
 *   --extra-channels N / EMULATOR_EXTRA_CHANNELS
 *             adds N small channels, 2812700 onwards (for benchmarks); default 0
 *   --live CHANNEL / EMULATOR_LIVE   live red-pack activity on that channel; default none
 *   --live-every MS / EMULATOR_LIVE_EVERY_MS   its interval; default 2000
 *   --last-day DAY / EMULATOR_LAST_DAY   the demo data's last day (CST); default yesterday
 */
import { parseArgs } from 'node:util';
import { DATA_PERIOD_DAYS, demoLastDay } from './data.js';
import { DEFAULT_LIVE_EVERY_MS } from './live.js';
import { CONTROL_PATH_PREFIX, startEmulator } from './server.js';

const DEFAULT_PORT = 8900;

const USAGE = `Usage: npm run emulator -- [options]

Runs the built-in Polyv emulator alone: Polyv's two endpoints with demo data, signature
checks, fault injection and a control API (under ${CONTROL_PATH_PREFIX}).

Options (or the environment variable after the slash):
  --port N                   / EMULATOR_PORT                    default ${DEFAULT_PORT}
  --host H                   / EMULATOR_HOST                    default 127.0.0.1
  --latency MS               / EMULATOR_LATENCY_MS              default 0
  --seed N                   / EMULATOR_SEED                    default 42
  --big-channel-red-packs N  / EMULATOR_BIG_CHANNEL_RED_PACKS   default 0 (channel 2812699, for benchmarks)
  --extra-channels N         / EMULATOR_EXTRA_CHANNELS          default 0 (channels 2812700…, for benchmarks)
  --live CHANNEL             / EMULATOR_LIVE                    default none; live red-pack activity on
                               that channel: a new red pack every few ticks, claims in between
  --live-every MS            / EMULATOR_LIVE_EVERY_MS           default ${DEFAULT_LIVE_EVERY_MS} (one tick every MS)
  --last-day YYYY-MM-DD      / EMULATOR_LAST_DAY                default yesterday (China Standard Time): the
                               last of the ${DATA_PERIOD_DAYS} days of demo data (the same records, shifted, for any day)
  --help                     this text

Point a gateway at it with the demo credentials it prints (API keys off, for trying it out):
  POLYV_BASE_URL=http://127.0.0.1:${DEFAULT_PORT} POLYV_APP_ID=<appId> POLYV_APP_SECRET=<appSecret> \\
  POLYV_USER_ID=<userId> GATEWAY_AUTH=off npm start
`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        latency: { type: 'string' },
        seed: { type: 'string' },
        'big-channel-red-packs': { type: 'string' },
        'extra-channels': { type: 'string' },
        live: { type: 'string' },
        'live-every': { type: 'string' },
        'last-day': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const liveChannel = nonEmpty(values.live ?? env['EMULATOR_LIVE']);
  const liveEveryMs = integerOption(
    'live-every',
    values['live-every'] ?? env['EMULATOR_LIVE_EVERY_MS'],
    DEFAULT_LIVE_EVERY_MS,
  );
  if (liveChannel === undefined && values['live-every'] !== undefined) {
    throw new Error('--live-every needs --live CHANNEL');
  }
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
    extraChannels: integerOption(
      'extra-channels',
      values['extra-channels'] ?? env['EMULATOR_EXTRA_CHANNELS'],
      0,
    ),
    lastDay: nonEmpty(values['last-day'] ?? env['EMULATOR_LAST_DAY']) ?? demoLastDay(Date.now()),
  });

  if (liveChannel !== undefined) {
    try {
      emulator.startLive(liveChannel, liveEveryMs);
    } catch (error) {
      // An unknown channel or a too short interval: say so before announcing anything.
      await emulator.close();
      throw error;
    }
  }

  const { appId, appSecret, userId } = emulator.credentials;
  const { firstDay, lastDay } = emulator.store.period;
  console.log(`Polyv emulator listening on ${emulator.url} (demo data ${firstDay} to ${lastDay})`);
  console.log(`  appId=${appId}  appSecret=${appSecret}  userId=${userId}  (demo credentials)`);
  console.log(`  control API: ${emulator.controlUrl}stats`);
  if (liveChannel !== undefined) {
    console.log(`  live red-pack activity on channel ${liveChannel} every ${liveEveryMs} ms`);
  }

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

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

main().catch((error: unknown) => {
  console.error('polyv emulator:', error instanceof Error ? error.message : error);
  process.exit(1);
});
