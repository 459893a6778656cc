import { stringify } from 'yaml';
import { buildTenantCrd } from './crd.js';

/** Path of the generated CRD, relative to the operator workspace. */
export const TENANT_CRD_PATH = 'config/crd/platform.croupier.dev_tenants.yaml';

export function renderTenantCrdYaml(): string {
  const header = '# Generated from operator/src/api/tenant.ts by `npm run generate -w operator`. Do not edit.\n';
  return header + stringify(buildTenantCrd(), { lineWidth: 0, aliasDuplicateObjects: false });
}
