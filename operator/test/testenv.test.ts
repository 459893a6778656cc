import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@croupier/shared/testing';
import { startTestEnvironment, type TestEnvironment } from './support/testenv.js';

const PROBE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'probes.testenv.croupier.dev' },
  spec: {
    group: 'testenv.croupier.dev',
    scope: 'Cluster',
    names: { plural: 'probes', singular: 'probe', kind: 'Probe' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  brand: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'brand is immutable' }] },
                },
              },
            },
          },
        },
      },
    ],
  },
};

async function waitUntilEstablished(environment: TestEnvironment, name: string): Promise<void> {
  await waitFor(async () => {
    const { body } = await environment.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    const conditions = (body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
    return conditions.some((condition) => condition.type === 'Established' && condition.status === 'True');
  }, `CRD ${name} to be established`, 30_000);
}

describe('operator test environment', () => {
  let environment: TestEnvironment;

  before(async () => {
    environment = await startTestEnvironment();
  });

  after(async () => {
    await environment?.stop();
  });

  it('reports the pinned Kubernetes version', async () => {
    const { status, body } = await environment.request('GET', '/version');
    assert.equal(status, 200, 'GET /version');
    assert.equal((body as { gitVersion: string }).gitVersion, 'v1.37.2', 'the build stamps the release');
  });

  it('forbids an anonymous request', async () => {
    const { status } = await environment.request('GET', '/api/v1/namespaces', undefined, undefined, null);
    assert.equal(status, 403, 'RBAC grants the anonymous user nothing');
  });

  it('rejects an unknown token', async () => {
    const { status } = await environment.request('GET', '/api/v1/namespaces', undefined, undefined, 'not-a-token');
    assert.equal(status, 401, 'a token not in the token file is unauthenticated');
  });

  it('serves a custom resource and enforces its CEL rule', async () => {
    const created = await environment.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', PROBE_CRD);
    assert.equal(created.status, 201, `CRD created: ${JSON.stringify(created.body).slice(0, 300)}`);
    await waitUntilEstablished(environment, PROBE_CRD.metadata.name);

    const object = { apiVersion: 'testenv.croupier.dev/v1', kind: 'Probe', metadata: { name: 'alpha' }, spec: { brand: 'alpha' } };
    const posted = await environment.request('POST', '/apis/testenv.croupier.dev/v1/probes', object);
    assert.equal(posted.status, 201, `object created: ${JSON.stringify(posted.body).slice(0, 300)}`);

    const changed = await environment.request(
      'PATCH',
      '/apis/testenv.croupier.dev/v1/probes/alpha',
      { spec: { brand: 'beta' } },
      'application/merge-patch+json',
    );
    assert.equal(changed.status, 422, `an immutable field cannot change: ${JSON.stringify(changed.body).slice(0, 300)}`);
    assert.match(JSON.stringify(changed.body), /brand is immutable/, 'the rule message reaches the client');
  });
});
