import { randomBytes } from 'node:crypto';
import { ANNOTATIONS, GROUP, type Tenant } from '../api/tenant.js';
import type { KubeObject } from '../kube/client.js';
import { encodeSecretData, labelsFor, ownerReference, type DesiredObject } from './desired.js';

/**
 * The brand's generated secrets live in one Secret, `credentials`, in the
 * brand namespace. A value is generated once and then read back on every
 * reconcile, so passwords stay stable. A missing key (or a deleted Secret)
 * gets a fresh value, which the provisioners then set on the shared
 * infrastructure. A new value of the Tenant's rotate-credentials annotation
 * regenerates every value once.
 */

export const CREDENTIALS_SECRET = 'credentials';
/** Value of the rotate-credentials annotation that the current values were generated for. */
export const ROTATION_ANNOTATION = `${GROUP}/rotation`;

export const CREDENTIAL_KEYS = [
  'rabbitmq-wallet-password',
  'rabbitmq-rules-password',
  'rabbitmq-gateway-password',
  'redis-gateway-password',
  'redis-rules-password',
  'postgres-wallet-password',
  'postgres-rules-password',
  'player-token-secret',
  'staff-token-secret',
  'wallet-api-key',
  'payment-secret',
  'provider-secret',
] as const;

export type CredentialKey = (typeof CREDENTIAL_KEYS)[number];
export type BrandCredentials = Record<CredentialKey, string>;

export interface CredentialsPlan {
  values: BrandCredentials;
  /** The Secret to apply, or undefined when the live one already contains these values. */
  secret: DesiredObject | undefined;
  /** Keys that got a new value in this reconcile. */
  generated: CredentialKey[];
  rotated: boolean;
}

function generate(): string {
  return randomBytes(24).toString('base64url');
}

export function planCredentials(tenant: Tenant, namespace: string, live: KubeObject | undefined): CredentialsPlan {
  const requested = tenant.metadata.annotations?.[ANNOTATIONS.rotateCredentials];
  const answered = live?.metadata.annotations?.[ROTATION_ANNOTATION];
  const rotated = requested !== undefined && requested !== '' && requested !== answered;
  const liveData = (live?.data as Record<string, string> | undefined) ?? {};

  const generated: CredentialKey[] = [];
  const values = {} as BrandCredentials;
  for (const key of CREDENTIAL_KEYS) {
    const current = liveData[key] === undefined ? '' : Buffer.from(liveData[key], 'base64').toString('utf8');
    if (current === '' || rotated) {
      values[key] = generate();
      generated.push(key);
    } else {
      values[key] = current;
    }
  }
  const rotation = rotated ? requested : answered;
  const labelsMatch = live !== undefined && Object.entries(labelsFor(tenant)).every(([key, value]) => live.metadata.labels?.[key] === value);
  const needsApply = live === undefined || generated.length > 0 || !labelsMatch;
  const secret: DesiredObject | undefined = needsApply
    ? {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: CREDENTIALS_SECRET,
          namespace,
          labels: labelsFor(tenant),
          ownerReferences: ownerReference(tenant),
          ...(rotation === undefined ? {} : { annotations: { [ROTATION_ANNOTATION]: rotation } }),
        },
        type: 'Opaque',
        data: encodeSecretData(values),
      }
    : undefined;
  return { values, secret, generated, rotated };
}
