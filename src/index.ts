/** Entry point of `npm start`: read the configuration, start the gateway, stop on a signal. */
import v8 from 'node:v8';
import { ConfigError, fromEnvironment, loadConfig } from './config/index.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

// Before the configuration, from the environment alone, so that a bad configuration is logged;
// a level set in the configuration file applies once it is read.
const logger = createLogger({
  level: fromEnvironment('LOG_LEVEL'),
  pretty: process.stdout.isTTY && fromEnvironment('NODE_ENV') !== 'production',
});

try {
  const config = loadConfig(process.env, { warn: (message) => logger.warn(message) });
  logger.level = config.log.level;
  // Before the schema and the first request: V8 reads the factor whenever it sizes the heap.
  if (config.heapGrowthPercent > 0)
    v8.setFlagsFromString(`--heap-growing-percent=${config.heapGrowthPercent}`);
  const gateway = await startGateway(config, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, graceMs: config.server.shutdownGraceMs },
      'shutting down: finishing requests in flight',
    );
    // Whatever happens, the process ends shortly after the grace period.
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.server.shutdownGraceMs + 5_000).unref();
    await gateway.stop();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
} catch (error) {
  if (error instanceof ConfigError) {
    logger.fatal(error.message);
  } else {
    logger.fatal({ err: error }, 'the gateway could not start');
  }
  // Exit now, whatever is still open (a socket, a timer): a process that could not start must
  // not linger holding ports. The logger writes synchronously, so the line above is out.
  process.exit(1);
}
