import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { renderTenantCrdYaml, TENANT_CRD_PATH } from '../src/api/crd-file.js';
import { buildTenantCrd } from '../src/api/crd.js';

describe('Tenant CRD', () => {
  it('matches the committed file generated from the TypeBox schema', () => {
    const committed = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', TENANT_CRD_PATH), 'utf8');
    assert.equal(committed, renderTenantCrdYaml(), 'run `npm run generate -w operator` and commit the result');
  });

  it('leaves defaulted fields out of required and turns unions into enums', () => {
    const crd = buildTenantCrd() as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: Record<string, unknown> } } } }> } };
    const spec = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as { required: string[]; properties: Record<string, { enum?: string[] }> };
    assert.deepEqual(spec.required.sort(), ['brand', 'currencies', 'displayName', 'licensee']);
    assert.deepEqual(spec.properties.deletionPolicy?.enum, ['Retain', 'Delete']);
  });
});
