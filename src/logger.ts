/**
 * The process logger: pino, one JSON object per line (pretty-printed only for a person at a
 * development terminal). Secrets are redacted by path wherever they could appear, and nothing
 * we log carries them in the first place: the app secret, signatures and API keys stay out.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths redacted in every log line, whatever is logged. */
export const REDACTED_PATHS = [
  'appSecret',
  '*.appSecret',
  'sign',
  '*.sign',
  '*.*.sign',
  'apiKey.key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
];

/**
 * `level`: pino's own default (`info`) when not given. `pretty`: human-readable lines, for a
 * person at a terminal (src/index.ts decides, from the configuration); never with a destination.
 */
export function createLogger(
  options: { level?: string; destination?: DestinationStream; pretty?: boolean } = {},
): Logger {
  const pretty = !options.destination && options.pretty === true;
  return pino(
    {
      ...(options.level ? { level: options.level } : {}),
      base: { service: 'polyv-graphql' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
        : {}),
    },
    options.destination,
  );
}
