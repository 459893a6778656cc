import { createHash } from 'node:crypto';
import { API_VERSION, GROUP, KIND, type ServiceName, type ServiceSpec, type Tenant } from '../api/tenant.js';
import type { KubeObject } from '../kube/client.js';

/**
 * The Kubernetes objects of one brand, computed from its Tenant and the
 * settings the reconciler gathered. Pure: no I/O, so the whole shape of a
 * brand can be read (and tested) in one place.
 */

export const MANAGED_BY = 'croupier-operator';
export const TENANT_LABEL = `${GROUP}/tenant`;
export const CHECKSUM_ANNOTATION = `${GROUP}/config-checksum`;
export const HTTP_PORT = 8080;

/** Name of each service's Deployment, Service, ServiceAccount and env Secret. */
export const WORKLOAD_NAMES: Record<ServiceName, string> = { wallet: 'wallet', rules: 'rules', gateway: 'push-gateway' };
export const SERVICE_NAMES: ServiceName[] = ['wallet', 'rules', 'gateway'];

export const RULES_CONFIGMAP = 'rules';
export const RULES_KEY = 'rules.yaml';

export type DesiredObject = KubeObject & { apiVersion: string; kind: string };

export interface DesiredInput {
  tenant: Tenant;
  namespace: string;
  images: Record<ServiceName, string>;
  /** Environment of each service. It contains passwords, so it goes into a Secret. */
  env: Record<ServiceName, Record<string, string>>;
  rulesText: string;
  /** Ports of the shared RabbitMQ, Redis and PostgreSQL, for the egress policy. */
  infrastructurePorts: number[];
}

const DEFAULT_RESOURCES: Record<ServiceName, { requests: Record<string, string>; limits: Record<string, string> }> = {
  wallet: { requests: { cpu: '250m', memory: '192Mi' }, limits: { memory: '512Mi' } },
  rules: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '384Mi' } },
  gateway: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
};

export function labelsFor(tenant: Tenant, component?: ServiceName): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/part-of': 'croupier',
    'app.kubernetes.io/instance': tenant.spec.brand,
    [TENANT_LABEL]: tenant.metadata.name,
    ...(component === undefined ? {} : { 'app.kubernetes.io/name': WORKLOAD_NAMES[component] }),
  };
}

function selectorFor(tenant: Tenant, component: ServiceName): Record<string, string> {
  return { 'app.kubernetes.io/instance': tenant.spec.brand, 'app.kubernetes.io/name': WORKLOAD_NAMES[component] };
}

export function ownerReference(tenant: Tenant): NonNullable<KubeObject['metadata']['ownerReferences']> {
  return [{ apiVersion: API_VERSION, kind: KIND, name: tenant.metadata.name, uid: tenant.metadata.uid as string, controller: true, blockOwnerDeletion: true }];
}

function metadata(input: Pick<DesiredInput, 'tenant' | 'namespace'>, name: string, component?: ServiceName, namespaced = true): DesiredObject['metadata'] {
  return {
    name,
    ...(namespaced ? { namespace: input.namespace } : {}),
    labels: labelsFor(input.tenant, component),
    ownerReferences: ownerReference(input.tenant),
  };
}

export function encodeSecretData(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

/** Changes whenever the service's configuration changes, so the pod template changes and the Deployment rolls. */
export function configChecksum(input: DesiredInput, service: ServiceName): string {
  const hash = createHash('sha256');
  for (const [key, value] of Object.entries(input.env[service]).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${key}=${value}\n`);
  if (service === 'rules') hash.update(input.rulesText);
  return hash.digest('hex');
}

export function namespaceObject(input: Pick<DesiredInput, 'tenant' | 'namespace'>): DesiredObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      ...metadata(input, input.namespace, undefined, false),
      labels: {
        ...labelsFor(input.tenant),
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
      },
    },
  };
}

function deployment(input: DesiredInput, service: ServiceName): DesiredObject {
  const spec: ServiceSpec = input.tenant.spec.services[service];
  const name = WORKLOAD_NAMES[service];
  const resources = {
    requests: { ...DEFAULT_RESOURCES[service].requests, ...spec.resources?.requests },
    limits: { ...DEFAULT_RESOURCES[service].limits, ...spec.resources?.limits },
  };
  const volumes: unknown[] = [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }];
  const volumeMounts: unknown[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (service === 'rules') {
    volumes.push({ name: 'rules', configMap: { name: RULES_CONFIGMAP } });
    volumeMounts.push({ name: 'rules', mountPath: '/etc/croupier/rules', readOnly: true });
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(input, name, service),
    // NOTE: no `replicas` here: the HorizontalPodAutoscaler owns the scale,
    // and applying a replica count would reset whatever it decided.
    spec: {
      selector: { matchLabels: selectorFor(input.tenant, service) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...labelsFor(input.tenant, service), ...selectorFor(input.tenant, service) },
          annotations: { [CHECKSUM_ANNOTATION]: configChecksum(input, service) },
        },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name,
              image: spec.image ?? input.images[service],
              envFrom: [{ secretRef: { name: `${name}-env` } }],
              ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
              resources,
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

function networkPolicies(input: DesiredInput): DesiredObject[] {
  const base = (name: string, spec: Record<string, unknown>): DesiredObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(input, name),
    spec,
  });
  const podsOf = (service: ServiceName): Record<string, unknown> => ({ matchLabels: selectorFor(input.tenant, service) });
  const httpPort = [{ protocol: 'TCP', port: HTTP_PORT }];
  return [
    base('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    // Providers, payment service providers and players come from outside the namespace.
    base('allow-wallet-ingress', { podSelector: podsOf('wallet'), policyTypes: ['Ingress'], ingress: [{ ports: httpPort }] }),
    base('allow-gateway-ingress', { podSelector: podsOf('gateway'), policyTypes: ['Ingress'], ingress: [{ ports: httpPort }] }),
    // The gateway calls the rules API for the back office, and Prometheus scrapes its metrics.
    base('allow-rules-ingress', { podSelector: podsOf('rules'), policyTypes: ['Ingress'], ingress: [{ ports: httpPort }] }),
    base('allow-egress', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ports: [...new Set(input.infrastructurePorts)].sort((a, b) => a - b).map((port) => ({ protocol: 'TCP', port })) },
        { to: [{ podSelector: podsOf('wallet') }, { podSelector: podsOf('rules') }], ports: httpPort },
      ],
    }),
  ];
}

/**
 * Builds every namespaced object of the brand, in two waves applied in order:
 * configuration first, then the workloads that use it.
 */
export function desiredObjects(input: DesiredInput): DesiredObject[][] {
  const perService = <T>(build: (service: ServiceName) => T): T[] => SERVICE_NAMES.map(build);
  const foundation: DesiredObject[] = [
    ...perService((service) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(input, WORKLOAD_NAMES[service], service),
      automountServiceAccountToken: false,
    })),
    ...perService((service) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: metadata(input, `${WORKLOAD_NAMES[service]}-env`, service),
      type: 'Opaque',
      data: encodeSecretData(input.env[service]),
    })),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: metadata(input, RULES_CONFIGMAP, 'rules'),
      data: { [RULES_KEY]: input.rulesText },
    },
    ...networkPolicies(input),
  ];
  const workloads: DesiredObject[] = [
    ...perService((service) => deployment(input, service)),
    ...perService((service) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(input, WORKLOAD_NAMES[service], service),
      spec: {
        type: 'ClusterIP',
        selector: selectorFor(input.tenant, service),
        ports: [{ name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' }],
      },
    })),
    ...perService((service) => ({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: metadata(input, WORKLOAD_NAMES[service], service),
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorFor(input.tenant, service) } },
    })),
    ...perService((service) => {
      const spec = input.tenant.spec.services[service];
      return {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: metadata(input, WORKLOAD_NAMES[service], service),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: WORKLOAD_NAMES[service] },
          minReplicas: spec.replicas,
          maxReplicas: spec.maxReplicas ?? spec.replicas * 2,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
        },
      };
    }),
  ];
  return [foundation, workloads];
}
