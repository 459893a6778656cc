import { Kind, type TSchema } from '@sinclair/typebox';
import { GROUP, KIND, PLURAL, TENANT_ROOT_VALIDATIONS, TenantSpecSchema, TenantStatusSchema, VERSION } from './tenant.js';

/**
 * Turns the TypeBox schemas of `tenant.ts` into the CRD's structural OpenAPI
 * schema. Structural schemas forbid a few things TypeBox emits: unions become
 * string enums, `additionalProperties` is dropped (the API server prunes
 * unknown fields instead), and a property with a default is not required,
 * because the API server fills it in.
 */

type OpenApiSchema = Record<string, unknown>;

const COPIED_KEYWORDS = [
  'description',
  'default',
  'pattern',
  'format',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
] as const;

export function toStructuralSchema(schema: TSchema): OpenApiSchema {
  const result: OpenApiSchema = {};
  const kind = schema[Kind] as string;
  if (kind === 'Union') {
    const variants = schema.anyOf as TSchema[];
    const values = variants.map((variant) => {
      if (variant[Kind] !== 'Literal' || typeof variant.const !== 'string') {
        throw new Error('only unions of string literals can become a CRD enum');
      }
      return variant.const;
    });
    result.type = 'string';
    result.enum = values;
  } else if (kind === 'Object') {
    result.type = 'object';
    const properties = schema.properties as Record<string, TSchema>;
    result.properties = Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, toStructuralSchema(child)]));
    const required = ((schema.required as string[] | undefined) ?? []).filter((name) => properties[name]?.default === undefined);
    if (required.length > 0) result.required = required;
  } else if (kind === 'Array') {
    result.type = 'array';
    result.items = toStructuralSchema(schema.items as TSchema);
  } else if (kind === 'String' || kind === 'Integer' || kind === 'Boolean' || kind === 'Number') {
    result.type = kind.toLowerCase();
  } else {
    throw new Error(`TypeBox kind ${kind} has no structural CRD equivalent`);
  }
  for (const keyword of COPIED_KEYWORDS) {
    if (schema[keyword] !== undefined) result[keyword] = schema[keyword];
  }
  return result;
}

const readyColumn = (type: string, name: string, field: 'status' | 'reason'): Record<string, string> => ({
  name,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].${field}`,
});

/** Builds the complete CustomResourceDefinition object for Tenant. */
export function buildTenantCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'croupier' },
    },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: { plural: PLURAL, singular: 'tenant', kind: KIND, listKind: `${KIND}List`, shortNames: ['tn'], categories: ['croupier'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Brand', type: 'string', jsonPath: '.spec.brand' },
            { name: 'Licensee', type: 'string', jsonPath: '.spec.licensee' },
            readyColumn('Ready', 'Ready', 'status'),
            readyColumn('Ready', 'Reason', 'reason'),
            { name: 'Policy', type: 'string', jsonPath: '.spec.deletionPolicy', priority: 1 },
            { name: 'Gateway', type: 'string', jsonPath: '.status.gatewayEndpoint', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A brand on the Croupier platform: its wallet, rules engine and push gateway on shared infrastructure.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(TenantSpecSchema),
                status: toStructuralSchema(TenantStatusSchema),
              },
              'x-kubernetes-validations': TENANT_ROOT_VALIDATIONS,
            },
          },
        },
      ],
    },
  };
}
