/**
 * Writes the Tenant CRD generated from `src/api/tenant.ts`. A test fails when
 * the committed file differs from what this script would write.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTenantCrdYaml, TENANT_CRD_PATH } from '../src/api/crd-file.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', TENANT_CRD_PATH);
writeFileSync(target, renderTenantCrdYaml());
console.log(`wrote ${target}`);
