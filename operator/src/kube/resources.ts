import { API_VERSION, KIND, PLURAL } from '../api/tenant.js';

/**
 * The kinds the operator reads or writes, with their REST resource names.
 * The operator never discovers kinds at run time: the list is closed, and
 * RBAC in the chart matches it.
 */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const RESOURCE_TYPES = {
  Namespace: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  Secret: { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  Service: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  Event: { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', namespaced: true },
  NetworkPolicy: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true },
  Lease: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true },
  Tenant: { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespaced: false },
} as const satisfies Record<string, ResourceType>;

export type KindName = keyof typeof RESOURCE_TYPES;

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
}

export function resourceType(kind: string): ResourceType {
  const type = (RESOURCE_TYPES as Record<string, ResourceType>)[kind];
  if (type === undefined) throw new Error(`the operator does not handle kind ${kind}`);
  return type;
}

function groupPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Path of a collection: all namespaces when `namespace` is undefined. */
export function collectionPath(kind: KindName, namespace?: string): string {
  const type = RESOURCE_TYPES[kind];
  const scope = type.namespaced && namespace !== undefined ? `/namespaces/${namespace}` : '';
  return `${groupPrefix(type.apiVersion)}${scope}/${type.plural}`;
}

export function resourcePath(ref: ObjectReference): string {
  const type = resourceType(ref.kind);
  if (type.namespaced && ref.namespace === undefined) throw new Error(`${ref.kind} ${ref.name} needs a namespace`);
  const scope = type.namespaced ? `/namespaces/${ref.namespace}` : '';
  return `${groupPrefix(type.apiVersion)}${scope}/${type.plural}/${ref.name}`;
}

/** Cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}
