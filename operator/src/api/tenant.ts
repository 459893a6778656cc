import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The Tenant API, written once. The CRD's OpenAPI schema is generated from
 * these TypeBox schemas (see `crd.ts` and `npm run generate -w operator`), and
 * the TypeScript types below are derived from the same objects, so the two
 * cannot drift apart. CEL rules travel in `x-kubernetes-validations`.
 */

export const GROUP = 'platform.croupier.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Tenant';
export const PLURAL = 'tenants';

/** Annotations a platform team sets on a Tenant. */
export const ANNOTATIONS = {
  /** Any new value regenerates every credential of the brand once. */
  rotateCredentials: `${GROUP}/rotate-credentials`,
  /** "true" stops reconciling, like `spec.paused`; for use when the spec cannot be edited. */
  paused: `${GROUP}/paused`,
  /** "true" lets a stuck deletion finish without cleaning the shared infrastructure. */
  skipCleanup: `${GROUP}/skip-cleanup`,
} as const;

export const FINALIZER = `${GROUP}/cleanup`;

function cel(rule: string, message: string, extra: Record<string, string> = {}): { rule: string; message: string } {
  return { rule, message, ...extra };
}

const Quantity = Type.String({
  maxLength: 32,
  pattern: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$',
  description: 'A Kubernetes quantity such as 250m, 1 or 512Mi.',
});

const ResourceList = Type.Object({
  cpu: Type.Optional(Quantity),
  memory: Type.Optional(Quantity),
});

export const ServiceSpecSchema = Type.Object(
  {
    replicas: Type.Integer({ minimum: 1, maximum: 50, default: 2, description: 'Replicas, and the autoscaler minimum.' }),
    maxReplicas: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'Autoscaler maximum; defaults to twice `replicas`.' }),
    ),
    image: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 512,
        pattern: '^[a-z0-9][a-z0-9._/:@-]*$',
        description: "Overrides the operator's default image for this service.",
      }),
    ),
    resources: Type.Optional(
      Type.Object({ requests: Type.Optional(ResourceList), limits: Type.Optional(ResourceList) }),
    ),
  },
  {
    default: {},
    'x-kubernetes-validations': [
      cel('!has(self.maxReplicas) || self.maxReplicas >= self.replicas', 'maxReplicas must be at least replicas', {
        fieldPath: '.maxReplicas',
      }),
    ],
  },
);

const ConfigMapKeyRef = Type.Object({
  namespace: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$' }),
  name: Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$' }),
  key: Type.String({ minLength: 1, maxLength: 253, default: 'rules.yaml' }),
});

export const RulesSchema = Type.Object(
  {
    inline: Type.Optional(Type.String({ maxLength: 262_144, description: 'The rule set as YAML or JSON.' })),
    configMapRef: Type.Optional(ConfigMapKeyRef),
  },
  {
    description: 'The brand behaviour rule set, inline or from a ConfigMap; an empty object means no rules.',
    'x-kubernetes-validations': [cel('!(has(self.inline) && has(self.configMapRef))', 'set either rules.inline or rules.configMapRef, not both')],
  },
);

const ProfileName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$', default: 'default' });

export const InfrastructureSchema = Type.Object(
  {
    messaging: ProfileName,
    cache: ProfileName,
    database: ProfileName,
  },
  {
    default: {},
    description:
      "Names of the shared RabbitMQ, Redis and PostgreSQL profiles in the operator's configuration. Connection details and admin credentials live there, never here.",
    'x-kubernetes-validations': [
      cel('self == oldSelf', 'infrastructure is immutable: moving a brand to other clusters would leave its data behind; create a new Tenant instead'),
    ],
  },
);

export const TenantSpecSchema = Type.Object({
  brand: Type.String({
    minLength: 1,
    maxLength: 32,
    pattern: '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$',
    description: 'Brand id: a DNS label of at most 32 characters, equal to the Tenant name. Immutable.',
    'x-kubernetes-validations': [cel('self == oldSelf', 'brand is immutable')],
  }),
  displayName: Type.String({ minLength: 1, maxLength: 100 }),
  licensee: Type.String({ minLength: 1, maxLength: 100, description: 'The licensed company that runs the brand.' }),
  currencies: Type.Array(Type.String({ pattern: '^[A-Z]{3}$', minLength: 3, maxLength: 3 }), {
    minItems: 1,
    maxItems: 32,
    'x-kubernetes-list-type': 'set',
    description: 'ISO 4217 codes of the currencies players may hold.',
  }),
  rules: Type.Optional(RulesSchema),
  complianceEmail: Type.Optional(
    Type.String({
      minLength: 3,
      maxLength: 254,
      pattern: '^[^@\\s]+@[^@\\s]+$',
      description: "Mailbox of the licensee's compliance team, for rules with the email action.",
    }),
  ),
  services: Type.Object(
    {
      wallet: ServiceSpecSchema,
      rules: ServiceSpecSchema,
      gateway: ServiceSpecSchema,
    },
    { default: {}, description: 'Replicas, resources and image of each brand service.' },
  ),
  infrastructure: InfrastructureSchema,
  deletionPolicy: Type.Union([Type.Literal('Retain'), Type.Literal('Delete')], {
    default: 'Retain',
    description: 'Retain keeps the database, vhost and cache keys when the Tenant is deleted; Delete removes them.',
  }),
  paused: Type.Boolean({ default: false, description: 'Stops reconciling; the running brand is left as it is.' }),
});

export const ConditionSchema = Type.Object({
  type: Type.String({ maxLength: 64 }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String({ maxLength: 128 }),
  message: Type.String({ maxLength: 4096 }),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Integer({ minimum: 0 }),
});

export const TenantStatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  ),
  namespace: Type.Optional(Type.String({ description: 'Namespace of the brand workloads.' })),
  gatewayEndpoint: Type.Optional(Type.String({ description: 'URL players connect to.' })),
});

export type TenantSpec = Static<typeof TenantSpecSchema>;
export type TenantStatus = Static<typeof TenantStatusSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ServiceSpec = Static<typeof ServiceSpecSchema>;
export type ServiceName = 'wallet' | 'rules' | 'gateway';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
}

export interface Tenant {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: TenantSpec;
  status?: TenantStatus;
}

/** Root-level rules: they see `metadata.name`, which field-level rules cannot. */
export const TENANT_ROOT_VALIDATIONS = [
  cel('self.metadata.name == self.spec.brand', 'metadata.name must equal spec.brand, so that each brand has exactly one Tenant', {
    fieldPath: '.spec.brand',
  }),
];

export const TENANT_SCHEMAS: { spec: TSchema; status: TSchema } = { spec: TenantSpecSchema, status: TenantStatusSchema };
