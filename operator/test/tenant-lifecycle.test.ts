import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { infraSettings, uniqueBrand, waitFor } from '@croupier/shared/testing';
import { CHECKSUM_ANNOTATION } from '../src/reconcile/desired.js';
import { databaseName, vhostName } from '../src/infra/names.js';
import type { Operator } from '../src/operator.js';
import { counterTotal } from '../src/metrics.js';
import { startHarness, tenantManifest, type Harness } from './support/harness.js';

/**
 * The operator against a real kube-apiserver and the real RabbitMQ, Redis and
 * PostgreSQL: a Tenant becomes a provisioned brand, changes roll out, drift is
 * repaired, and deletion honours the deletion policy.
 *
 * There is no kube-controller-manager here, so no Deployment ever becomes
 * available on its own: tests that need Ready call markDeploymentsAvailable,
 * which writes the Deployment status the way the controller would.
 */

const TENANTS = '/apis/platform.croupier.dev/v1alpha1/tenants';

interface SecretObject {
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
  data: Record<string, string>;
}
interface DeploymentObject {
  metadata: { generation: number };
  spec: { template: { metadata: { annotations: Record<string, string> } }; replicas?: number };
}

function decode(secret: SecretObject, key: string): string {
  return Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
}

async function managementGet(path: string): Promise<Response> {
  const url = new URL(infraSettings().managementUrl);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  return fetch(`${url.protocol}//${url.host}${path}`, { headers: { authorization } });
}

async function managementDelete(path: string): Promise<void> {
  const url = new URL(infraSettings().managementUrl);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  await fetch(`${url.protocol}//${url.host}${path}`, { method: 'DELETE', headers: { authorization } });
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: infraSettings().pgUrl });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

/** Writes to anything but the leader Lease, whose renewal is the one write a settled operator makes on purpose. */
async function writesSince(operator: Operator, baseline: number): Promise<number> {
  const total = await counterTotal(
    operator.metrics.kubeRequests,
    (labels) => !['get', 'list', 'watch'].includes(String(labels.verb)) && labels.resource !== 'leases',
  );
  return total - baseline;
}

async function writeCount(operator: Operator): Promise<number> {
  return writesSince(operator, 0);
}

describe('Tenant lifecycle', { timeout: 300_000 }, () => {
  let harness: Harness;
  let operator: Operator;
  const brands: string[] = [];

  before(async () => {
    harness = await startHarness();
    operator = await harness.startOperator({ OPERATOR_RESYNC_SECONDS: 2 });
  });

  after(async () => {
    // Delete policy cleans the shared infrastructure of every brand this file created.
    await harness.deleteTenants(brands);
    await harness?.stop();
  });

  async function createBrand(spec: Record<string, unknown> = {}): Promise<string> {
    const brand = uniqueBrand('op');
    brands.push(brand);
    await harness.api('POST', TENANTS, tenantManifest(brand, spec));
    return brand;
  }

  it('provisions every resource and grant of a new Tenant, then reports Ready', async () => {
    const brand = await createBrand({ rules: { inline: 'rules: []\n' } });
    const namespace = `brand-${brand}`;
    const provisioned = await harness.waitForCondition(brand, 'DatabaseReady', 'True');
    assert.ok(provisioned.metadata.finalizers?.includes('platform.croupier.dev/cleanup'));

    for (const [kind, path] of [
      ['ServiceAccount', `/api/v1/namespaces/${namespace}/serviceaccounts`],
      ['Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`],
      ['Service', `/api/v1/namespaces/${namespace}/services`],
      ['PodDisruptionBudget', `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`],
      ['HorizontalPodAutoscaler', `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`],
    ] as const) {
      const list = await harness.api<{ items: Array<{ metadata: { name: string; ownerReferences: Array<{ name: string }> } }> }>('GET', path);
      const names = list.items.map((item) => item.metadata.name).filter((name) => name !== 'default').sort();
      assert.deepEqual(names, ['push-gateway', 'rules', 'wallet'], `${kind} objects`);
      for (const item of list.items.filter((entry) => entry.metadata.name !== 'default')) {
        assert.equal(item.metadata.ownerReferences[0]?.name, brand, `${kind} ${item.metadata.name} is owned by the Tenant`);
      }
    }
    const policies = await harness.api<{ items: Array<{ metadata: { name: string } }> }>('GET', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`);
    assert.ok(policies.items.some((policy) => policy.metadata.name === 'default-deny'));
    const rules = await harness.api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/rules`);
    assert.equal(rules.data['rules.yaml'], 'rules: []\n');

    // Not Ready yet: the Deployments have no available replicas.
    const waiting = await harness.waitForCondition(brand, 'Ready', 'False');
    assert.equal(waiting.status?.conditions?.find((condition) => condition.type === 'WorkloadsAvailable')?.reason, 'RolloutInProgress');
    assert.equal(await harness.markDeploymentsAvailable(namespace), 3);
    const ready = await harness.waitForCondition(brand, 'Ready', 'True');
    assert.equal(ready.status?.gatewayEndpoint, `http://push-gateway.${namespace}.svc:8080`);

    // The brand's own users work: the wallet's AMQP URL from its Secret logs in to the brand vhost.
    const walletEnv = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/wallet-env`);
    const connection = await amqp.connect(decode(walletEnv, 'AMQP_URL'));
    await connection.close();
    const database = new pg.Client({ connectionString: decode(walletEnv, 'DATABASE_URL') });
    await database.connect();
    await database.query('CREATE TABLE IF NOT EXISTS lifecycle_probe (id int)');
    await database.end();

    // The gateway's Redis user reaches its own prefix only.
    const gatewayEnv = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/push-gateway-env`);
    const redis = new Redis(decode(gatewayEnv, 'REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    await redis.set(`croupier:${brand}:probe`, '1');
    await assert.rejects(redis.set('croupier:another-brand:probe', '1'), /NOPERM/);
    redis.disconnect();
  });

  it('writes nothing once a Tenant is settled, across resyncs', async () => {
    const brand = await createBrand();
    await harness.waitForCondition(brand, 'Ready', 'False');
    await harness.markDeploymentsAvailable(`brand-${brand}`);
    await harness.waitForCondition(brand, 'Ready', 'True');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const baseline = await writeCount(operator);
    const reconciles = await counterTotal(operator.metrics.reconciles);
    // The resync period is 2 s: this spans at least three resyncs of every Tenant.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    assert.ok((await counterTotal(operator.metrics.reconciles)) - reconciles >= 3, 'resyncs ran');
    assert.equal(await writesSince(operator, baseline), 0, 'no write while nothing changes');
  });

  it('rolls the workloads when their configuration changes', async () => {
    const brand = await createBrand({ rules: { inline: 'version: 1\n' } });
    const namespace = `brand-${brand}`;
    await harness.waitForCondition(brand, 'Ready', 'False');
    const rulesPath = `/apis/apps/v1/namespaces/${namespace}/deployments/rules`;
    const before = await harness.api<DeploymentObject>('GET', rulesPath);
    const walletBefore = await harness.api<DeploymentObject>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`);

    await harness.api('PATCH', `${TENANTS}/${brand}`, { spec: { rules: { inline: 'version: 2\n' } } }, 'application/merge-patch+json');
    const rolled = await waitFor(async () => {
      const current = await harness.api<DeploymentObject>('GET', rulesPath);
      return current.metadata.generation > before.metadata.generation ? current : undefined;
    }, 'the rules Deployment to roll');
    assert.notEqual(rolled.spec.template.metadata.annotations[CHECKSUM_ANNOTATION], before.spec.template.metadata.annotations[CHECKSUM_ANNOTATION]);
    const walletAfter = await harness.api<DeploymentObject>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`);
    assert.equal(walletAfter.metadata.generation, walletBefore.metadata.generation, 'the wallet does not roll for a rules change');

    await harness.api('PATCH', `${TENANTS}/${brand}`, { spec: { services: { wallet: { image: 'registry.example/wallet:2.0.0', replicas: 3 } } } }, 'application/merge-patch+json');
    await waitFor(async () => {
      const wallet = await harness.api<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`);
      return wallet.spec.template.spec.containers[0]?.image === 'registry.example/wallet:2.0.0';
    }, 'the wallet image override');
    const autoscaler = await harness.api<{ spec: { minReplicas: number; maxReplicas: number } }>('GET', `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/wallet`);
    assert.deepEqual([autoscaler.spec.minReplicas, autoscaler.spec.maxReplicas], [3, 6]);
  });

  it('repairs drift inside and outside Kubernetes', async () => {
    const brand = await createBrand();
    const namespace = `brand-${brand}`;
    await harness.waitForCondition(brand, 'MessagingReady', 'True');
    await harness.waitForCondition(brand, 'Ready', 'False');
    const credentials = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/credentials`);

    // A deleted env Secret is recreated from the stable credentials: same values.
    await harness.api('DELETE', `/api/v1/namespaces/${namespace}/secrets/wallet-env`);
    const recreated = await waitFor(async () => {
      const response = await harness.environment.request('GET', `/api/v1/namespaces/${namespace}/secrets/wallet-env`);
      return response.status === 200 ? (response.body as SecretObject) : undefined;
    }, 'wallet-env to come back');
    assert.ok(decode(recreated, 'AMQP_URL').includes(encodeURIComponent(decode(credentials, 'rabbitmq-wallet-password'))), 'same password as before');

    // An edited field is put back.
    await harness.api('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`, { spec: { template: { spec: { serviceAccountName: 'default' } } } }, 'application/strategic-merge-patch+json');
    await waitFor(async () => {
      const wallet = await harness.api<{ spec: { template: { spec: { serviceAccountName: string } } } }>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`);
      return wallet.spec.template.spec.serviceAccountName === 'wallet';
    }, 'the wallet service account to be restored');

    // An object an older operator version made under another name is pruned.
    const wallet = await harness.api<{ metadata: { labels: Record<string, string>; ownerReferences: unknown[] } }>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/wallet`);
    await harness.api('POST', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'allow-metrics-ingress', labels: wallet.metadata.labels, ownerReferences: wallet.metadata.ownerReferences },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    // One that is not owned by the Tenant stays, even with the labels.
    await harness.api('POST', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'added-by-hand', labels: wallet.metadata.labels },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    });
    await waitFor(async () => (await harness.environment.request('GET', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/allow-metrics-ingress`)).status === 404, 'the old policy to be pruned');
    assert.equal((await harness.environment.request('GET', `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies/added-by-hand`)).status, 200);

    // The vhost is outside Kubernetes; the periodic resync notices and recreates it with its users.
    await managementDelete(`/api/vhosts/${encodeURIComponent(vhostName(brand))}`);
    await managementDelete(`/api/users/${encodeURIComponent(`croupier-${brand}-wallet`)}`);
    await waitFor(async () => (await managementGet(`/api/permissions/${encodeURIComponent(vhostName(brand))}/${encodeURIComponent(`croupier-${brand}-wallet`)}`)).status === 200, 'the vhost and wallet user to come back', 15_000);
    const walletEnv = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/wallet-env`);
    const connection = await amqp.connect(decode(walletEnv, 'AMQP_URL'));
    await connection.close();
  });

  it('rotates every credential on request and rolls the services', async () => {
    const brand = await createBrand();
    const namespace = `brand-${brand}`;
    await harness.waitForCondition(brand, 'CacheReady', 'True');
    const before = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/credentials`);
    const gatewayBefore = await harness.api<DeploymentObject>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/push-gateway`);
    await harness.api('PATCH', `${TENANTS}/${brand}`, { metadata: { annotations: { 'platform.croupier.dev/rotate-credentials': '2026-12-04' } } }, 'application/merge-patch+json');
    const after = await waitFor(async () => {
      const secret = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/credentials`);
      return secret.metadata.annotations?.['platform.croupier.dev/rotation'] === '2026-12-04' ? secret : undefined;
    }, 'the rotation to be recorded');
    assert.notEqual(decode(after, 'redis-gateway-password'), decode(before, 'redis-gateway-password'));
    await waitFor(async () => {
      const gateway = await harness.api<DeploymentObject>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/push-gateway`);
      return gateway.metadata.generation > gatewayBefore.metadata.generation;
    }, 'the gateway to roll');
    // The new password is the one Redis accepts.
    const gatewayEnv = await waitFor(async () => {
      const secret = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/push-gateway-env`);
      return decode(secret, 'REDIS_URL').includes(decode(after, 'redis-gateway-password')) ? secret : undefined;
    }, 'the gateway env to carry the new password');
    await waitFor(async () => {
      const redis = new Redis(decode(gatewayEnv, 'REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await redis.connect();
        return (await redis.set(`croupier:${brand}:rotation-probe`, '1')) === 'OK';
      } catch {
        return false;
      } finally {
        redis.disconnect();
      }
    }, 'Redis to accept the rotated password');
    // A second reconcile with the same annotation does not rotate again.
    operator.resyncNow();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const later = await harness.api<SecretObject>('GET', `/api/v1/namespaces/${namespace}/secrets/credentials`);
    assert.equal(later.metadata.resourceVersion, after.metadata.resourceVersion);
  });

  it('pauses: changes and drift wait until the Tenant is resumed', async () => {
    const brand = await createBrand({ rules: { inline: 'a: 1\n' } });
    const namespace = `brand-${brand}`;
    await harness.waitForCondition(brand, 'Ready', 'False');
    await harness.api('PATCH', `${TENANTS}/${brand}`, { spec: { paused: true } }, 'application/merge-patch+json');
    await harness.waitForCondition(brand, 'Paused', 'True');
    await harness.api('PATCH', `${TENANTS}/${brand}`, { spec: { rules: { inline: 'a: 2\n' } } }, 'application/merge-patch+json');
    await harness.api('DELETE', `/api/v1/namespaces/${namespace}/services/wallet`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rules = await harness.api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/rules`);
    assert.equal(rules.data['rules.yaml'], 'a: 1\n', 'paused: the change is not applied');
    assert.equal((await harness.environment.request('GET', `/api/v1/namespaces/${namespace}/services/wallet`)).status, 404, 'paused: drift stays');
    const paused = await harness.tenant(brand);
    assert.ok((paused?.status?.observedGeneration ?? 0) < (paused?.metadata.generation ?? 0), 'the status still describes the generation before the pause');
    const database = paused?.status?.conditions?.find((condition) => condition.type === 'DatabaseReady');
    assert.ok((database?.observedGeneration ?? 0) < (paused?.metadata.generation ?? 0), 'part conditions keep their generation');

    await harness.api('PATCH', `${TENANTS}/${brand}`, { spec: { paused: false } }, 'application/merge-patch+json');
    await waitFor(async () => (await harness.environment.request('GET', `/api/v1/namespaces/${namespace}/services/wallet`)).status === 200, 'the Service to come back');
    await waitFor(async () => (await harness.api<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/configmaps/rules`)).data['rules.yaml'] === 'a: 2\n', 'the rules change');
    // The status is written at the end of the reconcile that applied the change.
    const resumed = await waitFor(async () => {
      const tenant = await harness.tenant(brand);
      return tenant?.status?.observedGeneration === tenant?.metadata.generation ? tenant : undefined;
    }, 'the resumed status');
    assert.equal(resumed.status?.conditions?.some((condition) => condition.type === 'Paused'), false);
  });

  it('Retain keeps the database and vhost; Delete removes them', async () => {
    const retained = await createBrand({ deletionPolicy: 'Retain' });
    const deleted = await createBrand({ deletionPolicy: 'Delete' });
    await harness.waitForCondition(retained, 'DatabaseReady', 'True');
    await harness.waitForCondition(deleted, 'DatabaseReady', 'True');
    await harness.waitForCondition(deleted, 'MessagingReady', 'True');

    for (const brand of [retained, deleted]) await harness.api('DELETE', `${TENANTS}/${brand}`);
    for (const brand of [retained, deleted]) await waitFor(async () => (await harness.tenant(brand)) === undefined, `${brand} to be deleted`, 20_000);

    assert.equal(await databaseExists(databaseName(retained)), true, 'Retain keeps the database');
    assert.equal((await managementGet(`/api/vhosts/${encodeURIComponent(vhostName(retained))}`)).status, 200, 'Retain keeps the vhost');
    assert.equal(await databaseExists(databaseName(deleted)), false, 'Delete drops the database');
    assert.equal((await managementGet(`/api/vhosts/${encodeURIComponent(vhostName(deleted))}`)).status, 404, 'Delete removes the vhost');
    for (const brand of [retained, deleted]) {
      const namespace = await harness.api<{ metadata: { deletionTimestamp?: string } }>('GET', `/api/v1/namespaces/brand-${brand}`).catch(() => undefined);
      // Without a namespace controller the namespace stays Terminating; it must at least be marked for deletion.
      assert.ok(namespace === undefined || namespace.metadata.deletionTimestamp !== undefined, `brand-${brand} is being deleted`);
    }

    // A new Tenant for the retained brand cannot write into the namespace that
    // is still terminating, and reports it. Without a namespace controller the old
    // objects stay, so the test removes one as that controller would.
    // The after hook deletes the Tenant with its data.
    await harness.api('POST', TENANTS, tenantManifest(retained, { deletionPolicy: 'Delete' }));
    await harness.api('DELETE', `/api/v1/namespaces/brand-${retained}/secrets/wallet-env`);
    const blocked = await harness.waitForCondition(retained, 'Ready', 'False', 20_000, 'ApplyFailed');
    assert.match(blocked.status?.conditions?.find((condition) => condition.type === 'Ready')?.message ?? '', /terminat/);
  });

  it('holds deletion until cleanup succeeds or is skipped', async () => {
    const brand = uniqueBrand('op');
    await harness.api('POST', TENANTS, tenantManifest(brand, { deletionPolicy: 'Delete', infrastructure: { database: 'unreachable' } }));
    const failing = await harness.waitForCondition(brand, 'DatabaseReady', 'False');
    assert.equal(failing.status?.conditions?.find((condition) => condition.type === 'DatabaseReady')?.reason, 'PostgresUnreachable');

    await harness.api('DELETE', `${TENANTS}/${brand}`);
    const blocked = await harness.waitForCondition(brand, 'Ready', 'False', 20_000, 'CleanupFailed');
    assert.match(blocked.status?.conditions?.find((condition) => condition.type === 'Ready')?.message ?? '', /skip-cleanup=true/);

    await harness.api('PATCH', `${TENANTS}/${brand}`, { metadata: { annotations: { 'platform.croupier.dev/skip-cleanup': 'true' } } }, 'application/merge-patch+json');
    await waitFor(async () => (await harness.tenant(brand)) === undefined, 'the Tenant to be released', 20_000);
    // The reachable parts were provisioned and are left behind on purpose; remove them here.
    await managementDelete(`/api/vhosts/${encodeURIComponent(vhostName(brand))}`);
  });

  it('deletes a Tenant with an unknown profile at once', async () => {
    const brand = uniqueBrand('op');
    await harness.api('POST', TENANTS, tenantManifest(brand, { deletionPolicy: 'Delete', infrastructure: { messaging: 'nope' } }));
    const unknown = await harness.waitForCondition(brand, 'Ready', 'False', 20_000, 'UnknownInfrastructureProfile');
    assert.match(unknown.status?.conditions?.[0]?.message ?? '', /no messaging profile "nope"/);
    assert.equal(unknown.metadata.finalizers?.includes('platform.croupier.dev/cleanup') ?? false, false, 'nothing provisioned, so no finalizer');
    await harness.api('DELETE', `${TENANTS}/${brand}`);
    await waitFor(async () => (await harness.tenant(brand)) === undefined, 'the Tenant to be deleted', 5000);
  });

  it('rejects an invalid Tenant with a message naming the field', async () => {
    const brand = uniqueBrand('op');
    const attempts: Array<[Record<string, unknown>, RegExp]> = [
      [tenantManifest(brand, { currencies: ['euro'] }), /currencies\[0\]/],
      [{ ...tenantManifest(brand), metadata: { name: `${brand}-x` } }, /metadata.name must equal spec.brand/],
      [tenantManifest(brand, { services: { wallet: { replicas: 4, maxReplicas: 2 } } }), /maxReplicas must be at least replicas/],
      [tenantManifest(brand, { rules: { inline: 'x', configMapRef: { namespace: 'a', name: 'b' } } }), /either rules.inline or rules.configMapRef/],
      [tenantManifest(brand, { deletionPolicy: 'Forget' }), /deletionPolicy/],
    ];
    for (const [manifest, message] of attempts) {
      const response = await harness.environment.request('POST', TENANTS, manifest);
      assert.equal(response.status, 422, JSON.stringify(response.body));
      assert.match((response.body as { message: string }).message, message);
    }

    const valid = await createBrand();
    const patched = await harness.environment.request('PATCH', `${TENANTS}/${valid}`, { spec: { brand: 'renamed' } }, 'application/merge-patch+json');
    assert.equal(patched.status, 422);
    assert.match((patched.body as { message: string }).message, /brand is immutable/);
    const moved = await harness.environment.request('PATCH', `${TENANTS}/${valid}`, { spec: { infrastructure: { database: 'other' } } }, 'application/merge-patch+json');
    assert.equal(moved.status, 422);
    assert.match((moved.body as { message: string }).message, /infrastructure is immutable/);
  });
});
