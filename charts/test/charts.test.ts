import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort, infraSettings, waitFor } from '@croupier/shared/testing';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startTestEnvironment, type TestEnvironment } from '../../operator/test/support/testenv.js';
import { Applier, type Manifest } from './support/apply.js';
import { writeKubeconformSchemas } from './support/kube-schemas.js';
import { CHARTS_DIR, REPO_DIR, chartTools, type ChartTools } from './support/tools.js';

/**
 * The charts as a platform team uses them. helm lint and template run with
 * every example values file, and the output is checked against the schemas of
 * a real kube-apiserver and the Tenant CRD. Then the charts are installed into
 * that API server, and the real operator runs with the chart's ServiceAccount
 * token, to show its RBAC is enough to onboard and delete brands on the
 * servers of scripts/infra.sh.
 */

const NAMESPACE = 'croupier-system';
const RELEASE = 'croupier';
const OPERATOR = 'croupier-operator';
const INFRA_DEV = 'croupier-infra-dev';
const EXAMPLES = path.join(CHARTS_DIR, 'examples');
const GENERATED_CRD = path.join(REPO_DIR, 'operator/config/crd/platform.croupier.dev_tenants.yaml');
const CHART_CRD = path.join(CHARTS_DIR, OPERATOR, 'files/crds/platform.croupier.dev_tenants.yaml');
const TENANTS = '/apis/platform.croupier.dev/v1alpha1/tenants';

/** Charts with the values files and `--set` pairs they are checked with. An empty `values` list means the chart defaults. */
const CASES: Array<{ chart: string; values: string[]; set?: string[] }> = [
  { chart: OPERATOR, values: [] },
  { chart: OPERATOR, values: ['values-kind.yaml'] },
  { chart: OPERATOR, values: ['values-production.yaml'] },
  { chart: OPERATOR, values: [], set: ['crds.install=false', 'serviceAccount.create=false', 'serviceAccount.name=platform-operator'] },
  { chart: INFRA_DEV, values: [] },
  { chart: INFRA_DEV, values: ['values-infra-kind.yaml'] },
];

function helmArgs(chart: string, values: string[], set: string[] = []): string[] {
  return [chart, ...values.flatMap((file) => ['-f', path.join(EXAMPLES, file)]), ...set.flatMap((pair) => ['--set', pair])];
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJSON() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

function readManifests(file: string): Manifest[] {
  return parseManifests(readFileSync(file, 'utf8'));
}

interface KubeconformReport {
  resources: Array<{ filename: string; kind: string; name: string; status: string; msg: string }>;
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

describe('charts', { timeout: 30 * 60_000 }, () => {
  let tools: ChartTools;
  let environment: TestEnvironment;
  let stateDir: string;
  let schemaLocation: string;

  const helm = async (args: string[]): Promise<string> => {
    const result = await tools.helm(args);
    assert.equal(result.code, 0, `helm ${args.join(' ')}:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  };
  const template = (chart: string, values: string[] = [], set: string[] = []): Promise<string> =>
    helm(['template', RELEASE, ...helmArgs(chart, values, set), '--namespace', NAMESPACE]);
  const kubeconform = async (manifests: string, extra: string[] = []): Promise<KubeconformReport> => {
    const result = await tools.kubeconform(['-strict', '-summary', '-verbose', '-output', 'json', '-schema-location', schemaLocation, ...extra], manifests);
    return JSON.parse(result.stdout) as KubeconformReport;
  };

  before(async () => {
    tools = await chartTools();
    environment = await startTestEnvironment();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-charts-'));
    const openApi = await environment.request('GET', '/openapi/v2');
    assert.equal(openApi.status, 200);
    schemaLocation = writeKubeconformSchemas(path.join(stateDir, 'schemas'), openApi.body as never, [parseYaml(readFileSync(CHART_CRD, 'utf8'))]);
  });

  after(async () => {
    await environment?.stop();
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  });

  it('pins helm v4.3.2 and kubeconform v0.8.0', async () => {
    assert.match(await helm(['version', '--short']), /^v4\.3\.2/);
    const kubeconformVersion = await tools.kubeconform(['-v'], '');
    assert.equal(kubeconformVersion.stdout.trim(), 'v0.8.0');
  });

  it('ships the CRD that make generate writes', () => {
    assert.equal(readFileSync(CHART_CRD, 'utf8'), readFileSync(GENERATED_CRD, 'utf8'), 'run make generate to copy the new CRD into the chart');
  });

  it('lints every chart and values file', async () => {
    for (const { chart, values, set } of CASES) {
      const output = await helm(['lint', '--strict', ...helmArgs(chart, values, set), '--namespace', NAMESPACE]);
      assert.match(output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('rejects invalid values with their path', async () => {
    const bad = path.join(CHARTS_DIR, 'test/bad-values-operator.yaml');
    for (const command of ['lint', 'template']) {
      const result = await tools.helm([command, ...(command === 'template' ? [RELEASE] : []), OPERATOR, '-f', bad]);
      assert.notEqual(result.code, 0, `helm ${command} accepted ${bad}`);
      const output = result.stdout + result.stderr;
      assert.match(output, /at '\/replicaCount': got string, want integer/);
      assert.match(output, /at '\/infrastructure\/cache\/secondary': missing property 'adminSecret'/);
    }
    const latest = await tools.helm(['template', RELEASE, INFRA_DEV, '--set', 'redis.image.tag=latest']);
    assert.notEqual(latest.code, 0);
    assert.match(latest.stderr, /\/redis\/image\/tag/);
    const lease = await tools.helm(['template', RELEASE, OPERATOR, '--set', 'leaderElection.renewSeconds=30']);
    assert.notEqual(lease.code, 0);
    assert.match(lease.stderr, /renewSeconds must be below leaderElection.leaseDurationSeconds/);
    const unknownKey = await tools.helm(['template', RELEASE, OPERATOR, '--set', 'replicas=3']);
    assert.notEqual(unknownKey.code, 0);
    assert.match(unknownKey.stderr, /additional properties 'replicas' not allowed/);
  });

  it('renders manifests that the API server schemas accept', async () => {
    for (const { chart, values, set } of CASES) {
      const rendered = await template(chart, values, set);
      const manifests = parseManifests(rendered);
      // ServiceMonitor belongs to the Prometheus Operator, whose schema this API server lacks.
      const monitors = manifests.filter((manifest) => manifest.kind === 'ServiceMonitor').length;
      const report = await kubeconform(rendered, monitors > 0 ? ['-skip', 'ServiceMonitor'] : []);
      const problems = report.resources.filter((resource) => resource.status !== 'statusValid' && resource.status !== 'statusSkipped');
      assert.deepEqual(problems, [], `${chart} ${values.join(' ')}`);
      assert.equal(report.summary.valid, manifests.length - monitors, `${chart} ${values.join(' ')}: every object was checked`);
    }
    const production = parseManifests(await template(OPERATOR, ['values-production.yaml']));
    assert.ok(production.some((manifest) => manifest.kind === 'ServiceMonitor'), 'values-production.yaml turns the ServiceMonitor on');
  });

  it('validates examples and rejects broken manifests', async () => {
    const files = ['tenant-alpha.yaml', 'tenant-beta.yaml', 'rules-beta.yaml', 'nodeports.yaml'];
    for (const file of files) {
      const report = await kubeconform(readFileSync(path.join(EXAMPLES, file), 'utf8'));
      assert.deepEqual(report.resources.filter((resource) => resource.status !== 'statusValid'), [], file);
      assert.ok(report.summary.valid > 0, `${file} was checked`);
    }
    const badTenant = `apiVersion: platform.croupier.dev/v1alpha1
kind: Tenant
metadata: { name: gamma }
spec: { brand: gamma, displayName: Gamma, licensee: Example, currencies: [eur], deletionPolicy: Keep, colour: red }
`;
    const tenantReport = await kubeconform(badTenant);
    assert.equal(tenantReport.summary.invalid, 1);
    const message = tenantReport.resources[0]?.msg ?? '';
    for (const expected of ['/spec/currencies/0', '/spec/deletionPolicy', "'colour' not allowed"]) {
      assert.ok(message.includes(expected), `expected ${expected} in ${message}`);
    }

    const badDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: { name: broken }
spec:
  replicas: two
  selector: { matchLabels: { app: x } }
  template: { metadata: { labels: { app: x } }, spec: { containers: [{ name: x, image: x, ports: [{ containerPort: http }] }] } }
`;
    const deploymentReport = await kubeconform(badDeployment);
    assert.equal(deploymentReport.summary.invalid, 1, JSON.stringify(deploymentReport));
    assert.match(deploymentReport.resources[0]?.msg ?? '', /\/spec\/replicas/);
  });

  describe('installed into a real API server', () => {
    const applier = (): Applier => new Applier(environment, 'charts-test');
    const suffix = randomBytes(3).toString('hex');
    const brands = { alpha: `charts-a-${suffix}`, beta: `charts-b-${suffix}` };
    let operatorManifests: Manifest[];

    before(async () => {
      const settings = infraSettings();
      const rabbit = new URL(settings.managementUrl);
      const amqp = new URL(settings.amqpUrl);
      const redis = new URL(settings.redisUrl);
      const postgres = new URL(settings.pgUrl);
      // The test's values point the profiles at the servers of scripts/infra.sh on loopback.
      const values = {
        infrastructure: {
          messaging: {
            default: { managementUrl: `${rabbit.protocol}//${rabbit.host}`, amqpHost: amqp.hostname, amqpPort: Number(amqp.port || 5672), amqpTls: false, adminSecret: 'rabbitmq-admin' },
          },
          cache: { default: { host: redis.hostname, port: Number(redis.port || 6379), tls: false, adminSecret: 'redis-admin' } },
          database: {
            default: {
              host: postgres.hostname,
              port: Number(postgres.port || 5432),
              adminDatabase: postgres.pathname.replace(/^\//, '') || 'postgres',
              ssl: false,
              adminSecret: 'postgres-admin',
            },
          },
        },
      };
      const valuesFile = path.join(stateDir, 'values-test.json');
      writeFileSync(valuesFile, JSON.stringify(values));
      operatorManifests = parseManifests(await helm(['template', RELEASE, OPERATOR, '-f', valuesFile, '--namespace', NAMESPACE]));

      const admin = (name: string, username: string, password: string): Manifest => ({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: NAMESPACE },
        stringData: { username: decodeURIComponent(username), password: decodeURIComponent(password) },
      });
      const apply = applier();
      // What `helm install --create-namespace` and the platform team do before the chart.
      await apply.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
      await apply.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
      await apply.apply(admin('rabbitmq-admin', rabbit.username, rabbit.password));
      await apply.apply(admin('redis-admin', redis.username || 'default', redis.password));
      await apply.apply(admin('postgres-admin', postgres.username, postgres.password));
    });

    /**
     * Deletes the test brands with deletionPolicy Delete, so the running
     * operator removes their data from the shared servers, and waits until
     * the Tenants are gone. Resolves with the brands still present.
     */
    const deleteBrands = async (): Promise<string[]> => {
      for (const name of Object.values(brands)) {
        await environment.request('PATCH', `${TENANTS}/${name}`, { spec: { deletionPolicy: 'Delete' } }, 'application/merge-patch+json');
        await environment.request('DELETE', `${TENANTS}/${name}`);
      }
      const present: string[] = [];
      for (const name of Object.values(brands)) {
        const gone = await waitFor(async () => (await environment.request('GET', `${TENANTS}/${name}`)).status === 404, `${name} to be deleted`, 60_000)
          .then(() => true)
          .catch(() => false);
        if (!gone) present.push(name);
      }
      return present;
    };

    it('applies the operator chart and CRD', async () => {
      const apply = applier();
      const crd = operatorManifests.find((manifest) => manifest.kind === 'CustomResourceDefinition') as Manifest;
      assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
      await apply.apply(crd);
      await waitFor(async () => {
        const { body } = await environment.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
        const conditions = (body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
        return conditions.some((condition) => condition.type === 'Established' && condition.status === 'True');
      }, 'the Tenant CRD to be established', 30_000);
      await waitFor(async () => (await environment.request('GET', TENANTS)).status === 200, 'tenants to be served', 30_000);

      const kinds: string[] = [];
      for (const manifest of operatorManifests.filter((candidate) => candidate !== crd)) {
        const stored = await apply.apply(manifest, { namespace: NAMESPACE });
        assert.equal(stored.metadata.name, manifest.metadata.name);
        kinds.push(manifest.kind);
      }
      assert.deepEqual(
        [...new Set(kinds)].sort(),
        ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'],
      );
    });

    it('accepts the development infrastructure chart', async () => {
      const apply = applier();
      await apply.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'infra-dev-check' } });
      const rendered = parseManifests(await helm(['template', 'infra', INFRA_DEV, '-f', path.join(EXAMPLES, 'values-infra-kind.yaml'), '--namespace', 'infra-dev-check']));
      for (const manifest of rendered) await apply.apply(manifest, { namespace: 'infra-dev-check' });
      assert.equal(rendered.filter((manifest) => manifest.kind === 'StatefulSet').length, 3);
    });

    it('validates example Tenants with CEL rules', async () => {
      const apply = applier();
      for (const manifest of [...readManifests(path.join(EXAMPLES, 'rules-beta.yaml')), ...readManifests(path.join(EXAMPLES, 'tenant-alpha.yaml')), ...readManifests(path.join(EXAMPLES, 'tenant-beta.yaml'))]) {
        // Dry run: no operator runs yet, and the example brand names must not reach the shared servers.
        await apply.apply(manifest, { dryRun: manifest.kind === 'Tenant' });
      }
      const [alpha] = readManifests(path.join(EXAMPLES, 'tenant-alpha.yaml')) as [Manifest & { spec: Record<string, unknown> }];
      const both = { ...alpha, spec: { ...alpha.spec, rules: { inline: 'rules: []', configMapRef: { namespace: 'compliance', name: 'x' } } } };
      await assert.rejects(apply.apply(both, { dryRun: true }), /set either rules.inline or rules.configMapRef, not both/);
      const misnamed = { ...alpha, metadata: { name: 'other' } };
      await assert.rejects(apply.apply(misnamed, { dryRun: true }), /metadata.name must equal spec.brand/);
    });

    it('grants the operator least privilege', { timeout: 5 * 60_000 }, async () => {
      const apply = applier();
      const deployment = operatorManifests.find((manifest) => manifest.kind === 'Deployment') as Manifest & {
        spec: { template: { spec: { serviceAccountName: string; containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }> }> } } };
      };
      const podSpec = deployment.spec.template.spec;
      const serviceAccount = podSpec.serviceAccountName;

      // A token for the chart's ServiceAccount, as the kubelet would mount it.
      const tokenResponse = await environment.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${serviceAccount}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      });
      assert.equal(tokenResponse.status, 201, JSON.stringify(tokenResponse.body));
      const token = (tokenResponse.body as { status: { token: string } }).status.token;
      const asOperator = (method: string, apiPath: string): Promise<number> => environment.request(method, apiPath, undefined, undefined, token).then((response) => response.status);

      // Least privilege, seen from outside: no Secret by name except the admin Secrets, no pods and no RBAC objects.
      assert.equal(await asOperator('GET', '/api/v1/namespaces/default/secrets/anything'), 403);
      assert.equal(await asOperator('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/some-other-secret`), 403);
      assert.equal(await asOperator('GET', '/api/v1/pods'), 403);
      assert.equal(await asOperator('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles'), 403);
      assert.equal(await asOperator('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/postgres-admin`), 200);

      const kubeconfig = path.join(stateDir, 'operator-kubeconfig.json');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'testenv', cluster: { server: environment.apiServerUrl, 'insecure-skip-tls-verify': true } }],
          users: [{ name: serviceAccount, user: { token } }],
          contexts: [{ name: 'testenv', context: { cluster: 'testenv', user: serviceAccount } }],
          'current-context': 'testenv',
        }),
        { mode: 0o600 },
      );
      // The profiles file as mounted in the pod: the ConfigMap the API server stored.
      const configMapName = (operatorManifests.find((manifest) => manifest.kind === 'ConfigMap') as Manifest).metadata.name;
      const configMap = await environment.request('GET', `/api/v1/namespaces/${NAMESPACE}/configmaps/${configMapName}`);
      const profilesFile = path.join(stateDir, 'infrastructure.yaml');
      writeFileSync(profilesFile, (configMap.body as { data: Record<string, string> }).data['infrastructure.yaml'] as string);

      // The Deployment's environment, with the downward API resolved as the kubelet would.
      const podName = `${RELEASE}-${OPERATOR}-test-pod`;
      const env: Record<string, string> = {};
      for (const variable of podSpec.containers[0]?.env ?? []) {
        const fieldPath = variable.valueFrom?.fieldRef.fieldPath;
        if (fieldPath === 'metadata.namespace') env[variable.name] = NAMESPACE;
        else if (fieldPath === 'metadata.name') env[variable.name] = podName;
        else env[variable.name] = variable.value ?? '';
      }
      const port = await findFreePort();
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(REPO_DIR, 'operator/src/main.ts')], {
        env: {
          ...process.env,
          ...env,
          KUBECONFIG: kubeconfig,
          // Only where the pod's paths and addresses differ from this machine's.
          OPERATOR_INFRASTRUCTURE_FILE: profilesFile,
          OPERATOR_HTTP_HOST: '127.0.0.1',
          OPERATOR_HTTP_PORT: String(port),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const metricsUrl = `http://127.0.0.1:${port}`;
      let deleted = false;
      try {
        await waitFor(async () => (await fetch(`${metricsUrl}/readyz`).catch(() => undefined))?.status === 200, `the operator to be ready (output: ${output})`, 60_000);
        const lease = await environment.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${env.OPERATOR_LEASE_NAME}`);
        assert.equal((lease.body as { spec: { holderIdentity: string } }).spec.holderIdentity, podName);

        // Both example brands under unique names, so they cannot meet another test's brands on the shared servers.
        for (const [example, brand] of [['tenant-alpha.yaml', brands.alpha], ['tenant-beta.yaml', brands.beta]] as const) {
          const [tenant] = readManifests(path.join(EXAMPLES, example)) as [Manifest & { spec: Record<string, unknown> }];
          await apply.apply({ ...tenant, metadata: { name: brand }, spec: { ...tenant.spec, brand } });
        }
        for (const brand of Object.values(brands)) {
          await waitForConditions(environment, brand, { MessagingReady: 'True', CacheReady: 'True', DatabaseReady: 'True', WorkloadsAvailable: 'False' });
          // No controller-manager here: write what the Deployment controller would, and the brand becomes Ready.
          await markDeploymentsAvailable(environment, `brand-${brand}`);
          await waitForConditions(environment, brand, { Ready: 'True' });
        }
        const events = await environment.request('GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${brands.beta}`);
        assert.ok((events.body as { items: Array<{ reason: string }> }).items.some((event) => event.reason === 'Ready'), 'the operator records Events');

        assert.deepEqual(await deleteBrands(), [], 'the operator removed its finalizer from every Tenant');
        deleted = true;
        const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
        const forbidden = metrics.split('\n').filter((line) => line.startsWith('croupier_operator_kube_requests_total') && /code="403"/.test(line));
        assert.deepEqual(forbidden, [], 'the API server rejected none of the operator requests');
        assert.match(metrics, /croupier_operator_kube_requests_total\{[^}]*verb="delete"[^}]*resource="namespaces"[^}]*code="200"/);
      } catch (error) {
        // The operator's warnings and errors usually name the failing request, so they go into the failure message.
        throw new Error(`${(error as Error).message}\noperator output:\n${output}`, { cause: error });
      } finally {
        // After a failure, the operator (while it runs) still removes what it provisioned on the shared servers.
        if (!deleted && child.exitCode === null) await deleteBrands();
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, output);
    });
  });
});

async function waitForConditions(environment: TestEnvironment, name: string, expected: Record<string, string>): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      const { body } = await environment.request('GET', `${TENANTS}/${name}`);
      const conditions = (body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
      last = conditions;
      return Object.entries(expected).every(([type, status]) => conditions.some((condition) => condition.type === type && condition.status === status));
    },
    `${name} conditions ${JSON.stringify(expected)}`,
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last conditions: ${JSON.stringify(last)}`);
  });
}

async function markDeploymentsAvailable(environment: TestEnvironment, namespace: string): Promise<void> {
  const list = await environment.request('GET', `/apis/apps/v1/namespaces/${namespace}/deployments`);
  const items = (list.body as { items: Array<{ metadata: { name: string; generation: number } }> }).items;
  assert.equal(items.length, 3, `three Deployments in ${namespace}`);
  for (const deployment of items) {
    const status = { observedGeneration: deployment.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
    const response = await environment.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment.metadata.name}/status`, { status }, 'application/merge-patch+json');
    assert.equal(response.status, 200);
  }
}
