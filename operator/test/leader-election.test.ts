import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueBrand, waitFor } from '@croupier/shared/testing';
import { counterTotal } from '../src/metrics.js';
import type { Operator } from '../src/operator.js';
import { OPERATOR_NAMESPACE, startHarness, tenantManifest, type Harness } from './support/harness.js';

/** Two operator replicas: one leads and reconciles, the other waits and takes over when the leader stops. */

const TENANTS = '/apis/platform.croupier.dev/v1alpha1/tenants';

describe('leader election', { timeout: 180_000 }, () => {
  let harness: Harness;
  const brands: string[] = [];

  before(async () => {
    harness = await startHarness();
  });

  after(async () => {
    // Every replica of the tests has stopped; one more runs the finalizers.
    await harness.startOperator();
    await harness.deleteTenants(brands);
    await harness?.stop();
  });

  it('lets exactly one replica reconcile, and hands over on a graceful stop', async () => {
    const lease = { OPERATOR_LEASE_DURATION_SECONDS: 4, OPERATOR_LEASE_RENEW_SECONDS: 1 };
    const first = await harness.startOperator(lease);
    await waitFor(() => first.isLeader, 'the first replica to lead');
    const second = await harness.startOperator(lease);
    await waitFor(() => second.synced, 'the second replica to sync its caches');

    const brand = uniqueBrand('le');
    brands.push(brand);
    await harness.api('POST', TENANTS, tenantManifest(brand));
    await harness.waitForCondition(brand, 'DatabaseReady', 'True');
    // Three lease periods: the follower must stay a follower and never reconcile.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(first.isLeader, true);
    assert.equal(second.isLeader, false);
    assert.ok((await counterTotal(first.metrics.reconciles)) > 0);
    assert.equal(await counterTotal(second.metrics.reconciles), 0, 'the follower reconciled nothing');
    const leaseObject = await harness.api<{ spec: { holderIdentity: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/croupier-operator`);
    assert.equal(leaseObject.spec.holderIdentity, first.identity);

    const stoppedAt = Date.now();
    await first.stop();
    await waitFor(() => second.isLeader, 'the second replica to take over', 10_000);
    const handover = Date.now() - stoppedAt;
    // A released lease is taken at the follower's next retry, well before the lease would expire.
    assert.ok(handover < 4000, `handover took ${handover} ms`);

    const next = uniqueBrand('le');
    brands.push(next);
    await harness.api('POST', TENANTS, tenantManifest(next));
    await harness.waitForCondition(next, 'DatabaseReady', 'True');
    assert.ok((await counterTotal(second.metrics.reconciles)) > 0);
    await second.stop();
  });

  it('takes over from a leader that vanished without releasing the lease', async () => {
    const lease = { OPERATOR_LEASE_DURATION_SECONDS: 3, OPERATOR_LEASE_RENEW_SECONDS: 1 };
    // A lease held by an identity that never renews, as after a crashed leader.
    await harness.api('PUT', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/croupier-operator`, {
      ...(await harness.api<Record<string, unknown>>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/croupier-operator`)),
      spec: { holderIdentity: 'crashed-replica', leaseDurationSeconds: 3, renewTime: new Date().toISOString().replace('Z', '000Z') },
    });
    const replica: Operator = await harness.startOperator(lease);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(replica.isLeader, false, 'an unexpired lease is respected');
    await waitFor(() => replica.isLeader, 'the replica to take over after expiry', 10_000);
    const taken = await harness.api<{ spec: { holderIdentity: string; leaseTransitions: number } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/croupier-operator`);
    assert.equal(taken.spec.holderIdentity, replica.identity);
    await replica.stop();
  });
});
