/** The process logger (pino, JSON lines). Secrets are redacted by path wherever they could appear. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'polyv-graphql' },
      redact: {
        paths: [
          'appSecret',
          '*.appSecret',
          'sign',
          '*.sign',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    options.destination,
  );
}
