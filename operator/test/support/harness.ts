import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@croupier/shared';
import { infraSettings, waitFor } from '@croupier/shared/testing';
import { parse as parseYaml } from 'yaml';
import { TENANT_CRD_PATH } from '../../src/api/crd-file.js';
import type { Condition, Tenant } from '../../src/api/tenant.js';
import { OperatorEnvSchema, parseInfrastructureProfiles, type OperatorConfig } from '../../src/config.js';
import { Operator } from '../../src/operator.js';
import { Value } from '@sinclair/typebox/value';
import { startTestEnvironment, type TestEnvironment, type TestEnvironmentOptions } from './testenv.js';

/**
 * Everything an operator test needs: a kube-apiserver with the Tenant CRD
 * installed, the operator namespace with admin Secrets for the RabbitMQ,
 * Redis and PostgreSQL started by scripts/infra.sh, an infrastructure
 * profiles file pointing at them, and helpers to run operator replicas
 * in-process against all of it.
 */

const OPERATOR_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OPERATOR_NAMESPACE = 'croupier-system';

export interface Harness {
  environment: TestEnvironment;
  kubeConfig: KubeConfig;
  profilesFile: string;
  /** Writes a kubeconfig file for the admin user, for an operator run as its own process. */
  writeKubeconfig(file: string): void;
  /** Starts an operator replica; call `stop()` on it (the harness also does at the end). */
  startOperator(overrides?: Partial<OperatorConfig>): Promise<Operator>;
  api<T = unknown>(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<T>;
  tenant(name: string): Promise<Tenant | undefined>;
  waitForCondition(name: string, type: string, status: Condition['status'], timeoutMs?: number, reason?: string): Promise<Tenant>;
  /** Deletes the Tenants with deletion policy Delete, so their shared infrastructure goes too, and waits until they are gone. */
  deleteTenants(names: string[]): Promise<void>;
  /**
   * Stands in for the missing kube-controller-manager: marks every
   * Deployment of the namespace as fully rolled out and available by writing
   * its status subresource, as the Deployment controller and kubelets would.
   */
  markDeploymentsAvailable(namespace: string): Promise<number>;
  stop(): Promise<void>;
}

export function tenantManifest(brand: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'platform.croupier.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name: brand },
    spec: { brand, displayName: `Brand ${brand}`, licensee: 'Example Gaming Ltd', currencies: ['EUR'], ...spec },
  };
}

export async function startHarness(options: TestEnvironmentOptions = {}): Promise<Harness> {
  const environment = await startTestEnvironment(options);
  const operators: Operator[] = [];
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-operator-test-'));
  const api = async <T>(method: string, apiPath: string, body?: unknown, contentType?: string): Promise<T> => {
    const response = await environment.request(method, apiPath, body, contentType);
    if (response.status >= 300) throw Object.assign(new Error(`${method} ${apiPath}: HTTP ${response.status} ${JSON.stringify(response.body)}`), response);
    return response.body as T;
  };

  try {
    const crd = parseYaml(readFileSync(path.join(OPERATOR_DIR, TENANT_CRD_PATH), 'utf8')) as { metadata: { name: string } };
    await api('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    await waitFor(async () => {
      const { body } = await environment.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      const conditions = (body as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
      return conditions.some((condition) => condition.type === 'Established' && condition.status === 'True');
    }, 'the Tenant CRD to be established', 30_000);
    // The CRD is established before every API path serves it, so wait until the collection returns 200.
    await waitFor(async () => (await environment.request('GET', '/apis/platform.croupier.dev/v1alpha1/tenants')).status === 200, 'tenants to be served', 30_000);

    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } });
    await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }).catch(() => undefined);
    const settings = infraSettings();
    const rabbit = new URL(settings.managementUrl);
    const amqp = new URL(settings.amqpUrl);
    const redis = new URL(settings.redisUrl);
    const postgres = new URL(settings.pgUrl);
    const secret = (name: string, username: string, password: string): Promise<unknown> =>
      api('POST', `/api/v1/namespaces/${OPERATOR_NAMESPACE}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name },
        stringData: { username, password },
      });
    await secret('rabbitmq-admin', decodeURIComponent(rabbit.username), decodeURIComponent(rabbit.password));
    await secret('redis-admin', decodeURIComponent(redis.username) || 'default', decodeURIComponent(redis.password));
    await secret('postgres-admin', decodeURIComponent(postgres.username), decodeURIComponent(postgres.password));

    const profilesFile = path.join(stateDir, 'infrastructure.yaml');
    writeFileSync(
      profilesFile,
      JSON.stringify({
        messaging: {
          default: {
            managementUrl: `${rabbit.protocol}//${rabbit.host}`,
            amqpHost: amqp.hostname,
            amqpPort: Number(amqp.port || 5672),
            adminSecret: 'rabbitmq-admin',
          },
        },
        cache: { default: { host: redis.hostname, port: Number(redis.port || 6379), adminSecret: 'redis-admin' } },
        database: {
          default: {
            host: postgres.hostname,
            port: Number(postgres.port || 5432),
            adminDatabase: postgres.pathname.replace(/^\//, '') || 'postgres',
            adminSecret: 'postgres-admin',
          },
          // A profile whose server does not exist: port 1 on loopback refuses connections.
          unreachable: { host: '127.0.0.1', port: 1, adminSecret: 'postgres-admin' },
        },
      }),
    );

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'testenv', server: environment.apiServerUrl, skipTLSVerify: true }],
      users: [{ name: 'admin', token: environment.adminToken }],
      contexts: [{ name: 'testenv', cluster: 'testenv', user: 'admin' }],
      currentContext: 'testenv',
    });

    let replica = 0;
    const harness: Harness = {
      environment,
      kubeConfig,
      profilesFile,
      api,
      writeKubeconfig(file) {
        const config = {
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'testenv', cluster: { server: environment.apiServerUrl, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'admin', user: { token: environment.adminToken } }],
          contexts: [{ name: 'testenv', context: { cluster: 'testenv', user: 'admin' } }],
          'current-context': 'testenv',
        };
        writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      },
      async startOperator(overrides = {}) {
        replica += 1;
        const defaults = Value.Default(OperatorEnvSchema, {}) as OperatorConfig;
        const config: OperatorConfig = {
          ...defaults,
          OPERATOR_NAMESPACE,
          OPERATOR_IDENTITY: `test-replica-${replica}`,
          OPERATOR_INFRASTRUCTURE_FILE: profilesFile,
          OPERATOR_HTTP_HOST: '127.0.0.1',
          OPERATOR_HTTP_PORT: 0,
          OPERATOR_WORKERS: 4,
          OPERATOR_INFRASTRUCTURE_TIMEOUT_MS: 2000,
          profiles: parseInfrastructureProfiles(readFileSync(profilesFile, 'utf8'), profilesFile),
          ...overrides,
        };
        const logger = createLogger({ service: 'operator', level: process.env.OPERATOR_TEST_LOG_LEVEL ?? 'silent' });
        const operator = new Operator({ config, kubeConfig, logger });
        await operator.start();
        operators.push(operator);
        return operator;
      },
      async tenant(name) {
        const response = await environment.request('GET', `/apis/platform.croupier.dev/v1alpha1/tenants/${name}`);
        return response.status === 200 ? (response.body as Tenant) : undefined;
      },
      async waitForCondition(name, type, status, timeoutMs = 20_000, reason) {
        let last: Condition | undefined;
        try {
          return await waitFor(async () => {
            const tenant = await harness.tenant(name);
            last = tenant?.status?.conditions?.find((condition) => condition.type === type);
            const matches =
              last?.status === status &&
              last.observedGeneration === tenant?.metadata.generation &&
              (reason === undefined || last.reason === reason);
            return matches ? tenant : undefined;
          }, `${name} ${type}=${status}`, timeoutMs);
        } catch (error) {
          throw new Error(`${(error as Error).message}; last ${type}: ${JSON.stringify(last)}`, { cause: error });
        }
      },
      async deleteTenants(names) {
        const path = (name: string): string => `/apis/platform.croupier.dev/v1alpha1/tenants/${name}`;
        for (const name of names) {
          await api('PATCH', path(name), { spec: { deletionPolicy: 'Delete' } }, 'application/merge-patch+json').catch(() => undefined);
          await api('DELETE', path(name)).catch(() => undefined);
        }
        const gone = (name: string): Promise<unknown> =>
          waitFor(async () => (await harness.tenant(name)) === undefined, `${name} to be gone`, 30_000).catch(() => undefined);
        await Promise.all(names.map(gone));
      },
      async markDeploymentsAvailable(namespace) {
        const list = await api<{ items: Array<{ metadata: { name: string; generation: number }; spec: { replicas?: number } }> }>(
          'GET',
          `/apis/apps/v1/namespaces/${namespace}/deployments`,
        );
        for (const deployment of list.items) {
          const replicas = deployment.spec.replicas ?? 1;
          await api(
            'PATCH',
            `/apis/apps/v1/namespaces/${namespace}/deployments/${deployment.metadata.name}/status`,
            {
              status: {
                observedGeneration: deployment.metadata.generation,
                replicas,
                updatedReplicas: replicas,
                readyReplicas: replicas,
                availableReplicas: replicas,
              },
            },
            'application/merge-patch+json',
          );
        }
        return list.items.length;
      },
      async stop() {
        await Promise.allSettled(operators.map((operator) => operator.stop()));
        await environment.stop();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
    return harness;
  } catch (error) {
    await environment.stop();
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
}
