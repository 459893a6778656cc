import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * JSON schemas for kubeconform, generated from the API server's own OpenAPI v2
 * document and from the Tenant CRD's openAPIV3Schema. The test downloads no
 * schemas, and the server is the authoritative source anyway.
 *
 * Each kind gets one file, named as the schema-location template below
 * expects, that contains the kind's schema and the definitions it references.
 * The schemas are strict: an object with declared properties rejects unknown
 * ones, as kubectl's strict field validation does.
 */

type Schema = Record<string, unknown>;
interface OpenApiV2 {
  definitions: Record<string, Schema>;
}

/** kubeconform's template: `Group` is the first part of apiVersion (`v1` for the core group). */
export const SCHEMA_FILE_TEMPLATE = '{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json';

const REF_PREFIX = '#/definitions/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

function schemaFileName(apiVersion: string, kind: string): string {
  const parts = apiVersion.split('/');
  return `${kind.toLowerCase()}-${parts[0]}-${parts.at(-1)}.json`;
}

/** Converts one OpenAPI schema node to a strict JSON schema for kubeconform. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (typeof node !== 'object' || node === null) return node;
  const source = node as Schema;
  if (source.format === 'int-or-string' || source['x-kubernetes-int-or-string'] === true) {
    return { description: source.description, oneOf: [{ type: 'string' }, { type: 'integer' }] };
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    // Property maps contain names, not schema keywords, so only their values are converted.
    if (key === 'properties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([name, child]) => [name, toJsonSchema(child)]));
    } else if (key.startsWith('x-kubernetes-') || key === 'format') {
      // Dropped because the API server's decoding does not check formats such as int32 or date-time either.
      continue;
    } else {
      out[key] = toJsonSchema(value);
    }
  }
  const preservesUnknown = source['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties !== undefined && out.additionalProperties === undefined && !preservesUnknown) out.additionalProperties = false;
  return out;
}

function collectRefs(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, into);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) into.add(value.slice(REF_PREFIX.length));
    else collectRefs(value, into);
  }
}

/** Collects the definitions that `roots` reference, directly or transitively, and converts them. */
function reachableDefinitions(definitions: Record<string, Schema>, roots: unknown[]): Record<string, unknown> {
  const seen = new Set<string>();
  const pending = new Set<string>();
  for (const root of roots) collectRefs(root, pending);
  const out: Record<string, unknown> = {};
  while (pending.size > 0) {
    const name = pending.values().next().value as string;
    pending.delete(name);
    if (seen.has(name)) continue;
    seen.add(name);
    const definition = definitions[name];
    if (definition === undefined) throw new Error(`the OpenAPI document refers to the missing definition ${name}`);
    out[name] = toJsonSchema(definition);
    collectRefs(definition, pending);
  }
  return out;
}

/**
 * Returns the definitions with IntOrString and Quantity replaced, because their
 * OpenAPI v2 form does not describe what the API server accepts.
 */
function patchedDefinitions(definitions: Record<string, Schema>): Record<string, Schema> {
  return {
    ...definitions,
    [INT_OR_STRING]: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
    // A quantity is written as a string (`500m`) or a bare number (`1`).
    [QUANTITY]: { oneOf: [{ type: 'string' }, { type: 'number' }] },
  };
}

/**
 * Writes one schema file per kind of the API server and one for each CRD
 * version given, and returns the schema-location argument for kubeconform.
 */
export function writeKubeconformSchemas(dir: string, openApi: OpenApiV2, crds: Schema[]): string {
  mkdirSync(dir, { recursive: true });
  const definitions = patchedDefinitions(openApi.definitions);
  const written = new Set<string>();
  for (const definition of Object.values(openApi.definitions)) {
    const kinds = (definition['x-kubernetes-group-version-kind'] ?? []) as Array<{ group: string; version: string; kind: string }>;
    for (const { group, version, kind } of kinds) {
      const file = schemaFileName(group === '' ? version : `${group}/${version}`, kind);
      if (written.has(file)) continue;
      written.add(file);
      const root = toJsonSchema(definition) as Schema;
      writeFileSync(path.join(dir, file), JSON.stringify({ ...root, definitions: reachableDefinitions(definitions, [definition]) }));
    }
  }
  for (const crd of crds) {
    const spec = crd.spec as { group: string; names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
    for (const version of spec.versions) {
      const apiVersion = `${spec.group}/${version.name}`;
      const root = toJsonSchema(version.schema.openAPIV3Schema) as Schema;
      const properties = {
        ...(root.properties as Schema),
        apiVersion: { type: 'string', enum: [apiVersion] },
        kind: { type: 'string', enum: [spec.names.kind] },
        metadata: { $ref: `${REF_PREFIX}${OBJECT_META}` },
      };
      const schema = { ...root, properties, required: ['apiVersion', 'kind', 'metadata', ...((root.required as string[] | undefined) ?? [])] };
      const withDefinitions = { ...schema, definitions: reachableDefinitions(definitions, [schema]) };
      writeFileSync(path.join(dir, schemaFileName(apiVersion, spec.names.kind)), JSON.stringify(withDefinitions));
    }
  }
  return path.join(dir, SCHEMA_FILE_TEMPLATE);
}
