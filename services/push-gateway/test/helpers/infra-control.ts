import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const INFRA_SCRIPT = fileURLToPath(new URL('../../../../scripts/infra.sh', import.meta.url));
const RESTART_TIMEOUT_MS = 120_000;

/** Runs `scripts/infra.sh restart-redis` or `restart-rabbitmq`, which return once the server responds again. */
export async function restartServer(server: 'redis' | 'rabbitmq'): Promise<void> {
  await promisify(execFile)('bash', [INFRA_SCRIPT, `restart-${server}`], { timeout: RESTART_TIMEOUT_MS });
}
