import { z } from 'zod';

/**
 * Configuration, read from the environment once at start-up and validated as a whole.
 * Every problem is reported with the variable's name so an operator can fix it in one go.
 */

const DEFAULT_BASE_URL = 'https://api.polyv.net';

const positiveInt = (fallback: number) =>
  z.coerce.number().int('must be a whole number').positive('must be > 0').default(fallback);

const envSchema = z.object({
  POLYV_APP_ID: z.string().trim().min(1).optional(),
  POLYV_APP_SECRET: z.string().trim().min(1).optional(),
  /** The Polyv account whose income `incomeRecords` reports. */
  POLYV_USER_ID: z.string().trim().min(1).optional(),
  POLYV_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default(DEFAULT_BASE_URL),
  /** Per-attempt timeout of one upstream call. */
  POLYV_TIMEOUT_MS: positiveInt(10_000),
  /** Retries after the first attempt, for transient faults only. */
  POLYV_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** Upstream calls in flight at once, across all requests of this process. */
  POLYV_MAX_CONCURRENCY: positiveInt(20),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** The GraphiQL playground at GET /graphql: on in development and on the emulator, off in production. */
  GATEWAY_PLAYGROUND: z.enum(['on', 'off']).optional(),
});

export interface PolyvCredentials {
  appId: string;
  appSecret: string;
  userId: string;
}

export interface GatewayConfig {
  /** Where the upstream is: the real Polyv, or the built-in emulator when no credentials are set. */
  polyv: { mode: 'polyv'; baseUrl: string; credentials: PolyvCredentials } | { mode: 'emulator' };
  upstream: { timeoutMs: number; retries: number; maxConcurrency: number };
  server: { port: number; host: string };
  /** Serve the GraphiQL playground (GET /graphql and /). */
  playground: boolean;
  environment: 'development' | 'production' | 'test';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  // An empty variable means "not set": that is how shells and .env files express it.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const vars = parsed.data;
  const problems: string[] = [];
  const { POLYV_APP_ID: appId, POLYV_APP_SECRET: appSecret, POLYV_USER_ID: userId } = vars;

  let polyv: GatewayConfig['polyv'] = { mode: 'emulator' };
  if (appId && appSecret) {
    if (!userId)
      problems.push(
        'POLYV_USER_ID: required with real Polyv credentials (the account whose income is reported)',
      );
    else
      polyv = {
        mode: 'polyv',
        baseUrl: vars.POLYV_BASE_URL,
        credentials: { appId, appSecret, userId },
      };
  } else if (appId || appSecret) {
    // Half a credential is a mistake, never a reason to fall back to the emulator silently.
    const missing = appId ? 'POLYV_APP_SECRET' : 'POLYV_APP_ID';
    const given = appId ? 'POLYV_APP_ID' : 'POLYV_APP_SECRET';
    problems.push(
      `${missing}: required because ${given} is set (set both to use Polyv, or neither to run on the built-in emulator)`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    polyv,
    upstream: {
      timeoutMs: vars.POLYV_TIMEOUT_MS,
      retries: vars.POLYV_RETRIES,
      maxConcurrency: vars.POLYV_MAX_CONCURRENCY,
    },
    server: { port: vars.PORT, host: vars.HOST },
    playground: vars.GATEWAY_PLAYGROUND
      ? vars.GATEWAY_PLAYGROUND === 'on'
      : vars.NODE_ENV !== 'production' || polyv.mode === 'emulator',
    environment: vars.NODE_ENV,
  };
}
