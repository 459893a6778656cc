import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, createLogger } from '@croupier/shared';
import { readOperatorConfig } from './config.js';
import { Operator } from './operator.js';

/**
 * Entry point. Reads the configuration, loads the kubeconfig (KUBECONFIG, or
 * the in-cluster service account), runs until SIGTERM or SIGINT, and exits
 * non-zero when leadership is lost so that Kubernetes restarts it clean.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = readOperatorConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ service: 'operator', level: config.LOG_LEVEL });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();

  const operator = new Operator({ config, kubeConfig, logger });
  await operator.start();
  logger.info({ identity: config.OPERATOR_IDENTITY, http: operator.httpAddress }, 'operator started');

  const stop = (signal: string): void => {
    logger.info({ signal }, 'signal received');
    void operator.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  if ((await operator.done) === 'lost') {
    logger.error({ identity: config.OPERATOR_IDENTITY }, 'leadership lost; exiting so that a fresh process campaigns again');
    await operator.stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
