import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { uniqueBrand, waitFor } from '@croupier/shared/testing';
import { counterTotal } from '../src/metrics.js';
import type { Operator } from '../src/operator.js';
import { startHarness, tenantManifest, type Harness } from './support/harness.js';

/**
 * The operator keeps working through an API server restart and a watch whose
 * resourceVersion was compacted away (410 Gone), without restarting itself.
 * The API server runs without its watch cache, so watches are served from
 * etcd and the test can expire a resourceVersion by compacting etcd.
 */

const TENANTS = '/apis/platform.croupier.dev/v1alpha1/tenants';

describe('operator resilience', { timeout: 300_000 }, () => {
  let harness: Harness;
  let operator: Operator;
  const brands: string[] = [];

  before(async () => {
    harness = await startHarness({ watchCache: false });
    operator = await harness.startOperator();
  });

  after(async () => {
    await harness.deleteTenants(brands);
    await harness?.stop();
  });

  it('recovers from an API server restart and 410 Gone', async () => {
    const first = uniqueBrand('res');
    brands.push(first);
    await harness.api('POST', TENANTS, tenantManifest(first));
    await harness.waitForCondition(first, 'DatabaseReady', 'True');
    const relistsBefore = await counterTotal(operator.metrics.relists, (labels) => labels.informer === 'tenants');
    const healthBefore = await fetch(`${operator.httpAddress}/healthz`);
    assert.equal(healthBefore.status, 200);

    // While the API server is down, etcd compacts away every older revision.
    await harness.environment.restartApiServer(() => harness.environment.compactEtcd());

    const gone = await waitFor(
      async () => (await counterTotal(operator.metrics.watchRestarts, (labels) => labels.reason === 'gone')) > 0,
      'a watch to hit 410 Gone',
      30_000,
    );
    assert.ok(gone);
    await waitFor(
      async () => (await counterTotal(operator.metrics.relists, (labels) => labels.informer === 'tenants')) > relistsBefore,
      'the Tenant informer to list again',
      30_000,
    );

    // The same process, with the same informers, picks up a Tenant created after the restart.
    const second = uniqueBrand('res');
    brands.push(second);
    await harness.api('POST', TENANTS, tenantManifest(second));
    await harness.waitForCondition(second, 'DatabaseReady', 'True', 30_000);
    await harness.markDeploymentsAvailable(`brand-${second}`);
    await harness.waitForCondition(second, 'Ready', 'True', 30_000);

    // A Secret deleted after the restart is noticed through the renewed watches.
    await harness.api('DELETE', `/api/v1/namespaces/brand-${second}/secrets/rules-env`);
    await waitFor(async () => (await harness.environment.request('GET', `/api/v1/namespaces/brand-${second}/secrets/rules-env`)).status === 200, 'rules-env to come back', 15_000);
    assert.equal((await fetch(`${operator.httpAddress}/healthz`)).status, 200);
  });
});
