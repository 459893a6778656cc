import { ConfigError, createLogger } from '@croupier/shared';
import { loadRulesConfig, type RulesConfig } from './config.js';
import { startRulesService } from './service.js';

/** Process entry of one rules replica: read the config, start, and stop gracefully on SIGTERM or SIGINT. */
async function main(): Promise<void> {
  let config: RulesConfig;
  try {
    config = loadRulesConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }

  const logger = createLogger({ service: 'rules', brand: config.brand, level: config.logLevel });
  const service = await startRulesService(config, logger);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'signal received, stopping');
    const forceExit = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'graceful stop timed out, exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    forceExit.unref();
    service.stop().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'graceful stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  console.error('rules service failed to start:', error);
  process.exit(1);
});
