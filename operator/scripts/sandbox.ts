/**
 * A local sandbox for the operator: starts the test kube-apiserver and etcd,
 * installs the Tenant CRD and the admin Secrets of the shared clusters from
 * scripts/infra.sh, runs the operator entrypoint as its own process, applies
 * config/samples/tenant-sandbox.yaml and prints what the Tenant became.
 *
 * With --keep it then waits for Ctrl-C, printing a kubeconfig for the API
 * server so you can watch and edit the Tenant; without it, it deletes the
 * Tenant (deletion policy Delete) and exits.
 *
 * There is no controller-manager or kubelet: a stand-in marks each
 * Deployment available as soon as the operator writes it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@croupier/shared';
import { findFreePort, waitFor } from '@croupier/shared/testing';
import { parse as parseYaml } from 'yaml';
import type { Tenant } from '../src/api/tenant.js';
import { KubeClient } from '../src/kube/client.js';
import { startDeploymentStandIn } from '../test/support/deployment-stand-in.js';
import { OPERATOR_NAMESPACE, startHarness } from '../test/support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLE = path.join(ROOT, 'operator/config/samples/tenant-sandbox.yaml');
const TENANTS = '/apis/platform.croupier.dev/v1alpha1/tenants';
const keep = process.argv.includes('--keep');
const log = (message: string): void => console.log(`[sandbox] ${message}`);

async function main(): Promise<void> {
  // From here on Ctrl-C does not kill the script: it deletes the Tenant first.
  let interrupt = (): void => undefined;
  const interrupted = new Promise<void>((resolve) => (interrupt = resolve));
  process.on('SIGINT', () => {
    log('interrupted: deleting the Tenant and stopping');
    interrupt();
  });
  log('starting kube-apiserver and etcd (the first run builds them, which takes several minutes)');
  const harness = await startHarness({ detached: true });
  const stateDir = path.join(ROOT, '.operator-sandbox');
  mkdirSync(stateDir, { recursive: true });
  const kubeconfig = path.join(stateDir, 'kubeconfig.json');
  harness.writeKubeconfig(kubeconfig);
  const port = await findFreePort();
  const operator = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(ROOT, 'operator/src/main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      OPERATOR_NAMESPACE,
      OPERATOR_IDENTITY: 'sandbox',
      OPERATOR_INFRASTRUCTURE_FILE: harness.profilesFile,
      OPERATOR_HTTP_HOST: '127.0.0.1',
      OPERATOR_HTTP_PORT: String(port),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    // Its own process group: Ctrl-C reaches only this script, which deletes the Tenant before stopping the operator.
    detached: true,
  });
  const stop = new AbortController();
  const client = new KubeClient(harness.kubeConfig);
  const finish = async (): Promise<void> => {
    operator.kill('SIGTERM');
    await new Promise((resolve) => (operator.exitCode === null ? operator.once('exit', resolve) : resolve(undefined)));
    stop.abort();
    client.close();
    await harness.stop();
  };

  try {
    startDeploymentStandIn(client, stop.signal, createLogger({ service: 'sandbox', level: 'warn' }));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 'the operator to be ready', 60_000);
    log(`operator ready; health and metrics on http://127.0.0.1:${port}`);

    const manifest = parseYaml(readFileSync(SAMPLE, 'utf8')) as Tenant;
    const name = manifest.metadata.name;
    const appliedAt = performance.now();
    await harness.api('POST', TENANTS, manifest);
    log(`applied Tenant ${name} from ${path.relative(ROOT, SAMPLE)}`);
    const ready = await harness.waitForCondition(name, 'Ready', 'True', 30_000);
    log(`Tenant ${name} Ready after ${((performance.now() - appliedAt) / 1000).toFixed(2)} s`);
    for (const condition of ready.status?.conditions ?? []) {
      log(`  ${condition.type.padEnd(20)} ${condition.status.padEnd(6)} ${condition.reason}: ${condition.message}`);
    }
    log(`  gateway endpoint: ${ready.status?.gatewayEndpoint}`);
    const namespace = ready.status?.namespace as string;
    for (const [kind, apiPath] of [
      ['Deployments', `/apis/apps/v1/namespaces/${namespace}/deployments`],
      ['Services', `/api/v1/namespaces/${namespace}/services`],
      ['Secrets', `/api/v1/namespaces/${namespace}/secrets`],
      ['HorizontalPodAutoscalers', `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`],
      ['NetworkPolicies', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`],
    ] as const) {
      const list = await harness.api<{ items: Array<{ metadata: { name: string } }> }>('GET', apiPath);
      log(`  ${kind} in ${namespace}: ${list.items.map((item) => item.metadata.name).join(', ')}`);
    }

    if (keep) {
      log(`kubeconfig: ${kubeconfig} (self-signed API server: use insecure TLS)`);
      log(`for example: curl -sk -H "Authorization: Bearer $(node -p "require('${kubeconfig}').users[0].user.token")" ${harness.environment.apiServerUrl}${TENANTS}/${name}`);
      log('press Ctrl-C to delete the Tenant and stop');
      await interrupted;
    }

    await harness.api('DELETE', `${TENANTS}/${name}`);
    await waitFor(async () => (await harness.tenant(name)) === undefined, `Tenant ${name} to be deleted`, 60_000);
    log(`deleted Tenant ${name}; its database, vhost, users and keys are gone`);
  } finally {
    await finish();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
