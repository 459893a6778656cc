import { ConfigError, createLogger } from '@croupier/shared';
import { readGatewayConfig, startGateway, type GatewayHandle } from './server.js';

/**
 * Process entry of one gateway replica. SIGTERM and SIGINT drain: players get a
 * notice to reconnect elsewhere, the bus consumer stops, then the process exits
 * 0. A drain that overruns DRAIN_TIMEOUT_MS exits 1.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = readGatewayConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }

  const logger = createLogger({ service: 'push-gateway', brand: config.brand });
  const gateway = await startGateway(config, logger);
  const drainTimeoutMs = config.drain.timeoutMs;

  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal, drainTimeoutMs }, 'signal received, draining');
    void drainAndExit(gateway, drainTimeoutMs, logger);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

async function drainAndExit(
  gateway: GatewayHandle,
  drainTimeoutMs: number,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  const deadline = setTimeout(() => {
    logger.error({ drainTimeoutMs }, 'drain did not finish in time, exiting');
    process.exit(1);
  }, drainTimeoutMs);
  deadline.unref();

  try {
    await gateway.drain();
    logger.info('drain finished, exiting');
    logger.flush();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'drain failed, exiting');
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error('push gateway failed to start:', error);
  process.exit(1);
});
