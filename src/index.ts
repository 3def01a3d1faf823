/** Entry point of `npm start`: read the configuration, start the gateway, stop on a signal. */
import { ConfigError, loadConfig } from './config/index.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

const logger = createLogger();

try {
  const gateway = await startGateway(loadConfig(), logger);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await gateway.stop();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
} catch (error) {
  if (error instanceof ConfigError) {
    logger.fatal(error.message);
  } else {
    logger.fatal({ err: error }, 'the gateway could not start');
  }
  process.exitCode = 1;
}
