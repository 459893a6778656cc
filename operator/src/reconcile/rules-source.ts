import { GROUP, type Tenant } from '../api/tenant.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import type { Informer } from '../kube/informer.js';

/**
 * Where a brand's rule set comes from: inline in the Tenant, or a key of a
 * ConfigMap the platform team owns. ConfigMaps carrying the rules-source label
 * are watched, so editing one rolls the rules engine at once. An unlabelled
 * one is read directly and its changes are picked up at the next resync.
 */

export const RULES_SOURCE_LABEL = `${GROUP}/rules-source`;

export class RulesUnavailableError extends Error {
  readonly code = 'OPERATOR_RULES_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RulesUnavailableError';
  }
}

export async function resolveRules(tenant: Tenant, client: KubeClient, watched: Informer<KubeObject>): Promise<string> {
  const rules = tenant.spec.rules;
  if (rules?.configMapRef === undefined) return rules?.inline ?? '';
  const { namespace, name, key } = rules.configMapRef;
  const configMap =
    watched.get(namespace, name) ?? (await client.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }));
  if (configMap === undefined) throw new RulesUnavailableError(`rules ConfigMap ${namespace}/${name} does not exist`);
  const text = (configMap.data as Record<string, string> | undefined)?.[key];
  if (text === undefined) throw new RulesUnavailableError(`rules ConfigMap ${namespace}/${name} has no key "${key}"`);
  return text;
}

/** Names of the Tenants whose rules come from the given ConfigMap. */
export function tenantsUsingConfigMap(tenants: Tenant[], namespace: string, name: string): string[] {
  return tenants
    .filter((tenant) => tenant.spec.rules?.configMapRef?.namespace === namespace && tenant.spec.rules.configMapRef.name === name)
    .map((tenant) => tenant.metadata.name);
}
