import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { findFreePort, waitFor } from '@croupier/shared/testing';
import { OPERATOR_NAMESPACE, startHarness, type Harness } from './support/harness.js';

/** The operator as a process: configuration errors, health, metrics and a graceful SIGTERM. */

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');

interface Run {
  exit: Promise<number | null>;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function runOperator(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: () => output,
    kill: (signal) => child.kill(signal),
  };
}

describe('operator process', { timeout: 120_000 }, () => {
  let harness: Harness;
  let stateDir: string;
  let kubeconfig: string;

  before(async () => {
    harness = await startHarness();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-operator-process-'));
    kubeconfig = path.join(stateDir, 'kubeconfig.json');
    harness.writeKubeconfig(kubeconfig);
  });

  after(async () => {
    await harness?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('exits with status 2 and names every invalid setting', async () => {
    const badProfiles = path.join(stateDir, 'bad.yaml');
    writeFileSync(badProfiles, 'messaging:\n  default: { managementUrl: "ftp://x", amqpHost: h, adminSecret: s }\ncache: {}\n');
    const run = runOperator({ KUBECONFIG: kubeconfig, OPERATOR_INFRASTRUCTURE_FILE: badProfiles, OPERATOR_WORKERS: '0' });
    assert.equal(await run.exit, 2);
    assert.match(run.output(), /OPERATOR_WORKERS/);

    const second = runOperator({ KUBECONFIG: kubeconfig, OPERATOR_INFRASTRUCTURE_FILE: badProfiles });
    assert.equal(await second.exit, 2);
    assert.match(second.output(), /messaging\/default\/managementUrl/);
    assert.match(second.output(), /\/database: Expected required property/);

    const missing = runOperator({ KUBECONFIG: kubeconfig, OPERATOR_INFRASTRUCTURE_FILE: path.join(stateDir, 'absent.yaml') });
    assert.equal(await missing.exit, 2);
    assert.match(missing.output(), /OPERATOR_INFRASTRUCTURE_FILE: cannot read .*absent\.yaml: ENOENT/);
  });

  it('serves health and metrics, then releases its lease on SIGTERM', async () => {
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const run = runOperator({
      KUBECONFIG: kubeconfig,
      OPERATOR_NAMESPACE,
      OPERATOR_IDENTITY: 'process-test',
      OPERATOR_INFRASTRUCTURE_FILE: harness.profilesFile,
      OPERATOR_HTTP_HOST: '127.0.0.1',
      OPERATOR_HTTP_PORT: String(port),
    });
    try {
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 'the operator to be ready', 30_000);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      for (const name of ['croupier_operator_reconciles_total', 'croupier_operator_workqueue_depth', 'croupier_operator_kube_requests_total', 'croupier_operator_leader 1']) {
        assert.ok(metrics.includes(name), `metrics include ${name}`);
      }
      const unknown = await fetch(`${url}/nothing`);
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: string }).error, 'OPERATOR_NOT_FOUND');
    } finally {
      run.kill('SIGTERM');
    }
    assert.equal(await run.exit, 0, run.output());
    const lease = await harness.api<{ spec: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/croupier-operator`);
    assert.equal(lease.spec.holderIdentity ?? '', '', 'the lease is released for the next replica');
  });
});
