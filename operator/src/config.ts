import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError, readConfig } from '@croupier/shared';
import { parse as parseYaml } from 'yaml';

/**
 * Operator settings come from environment variables; the shared
 * infrastructure comes from a profiles file (YAML or JSON) whose admin
 * credentials are references to Secrets in the operator's namespace. A Tenant
 * names profiles; it never carries addresses or credentials.
 */

export const OperatorEnvSchema = Type.Object({
  OPERATOR_NAMESPACE: Type.String({ minLength: 1, default: 'croupier-system' }),
  OPERATOR_IDENTITY: Type.String({ minLength: 1, default: `${os.hostname()}-${process.pid}` }),
  OPERATOR_INFRASTRUCTURE_FILE: Type.String({ minLength: 1 }),
  OPERATOR_HTTP_HOST: Type.String({ default: '0.0.0.0' }),
  OPERATOR_HTTP_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
  OPERATOR_WORKERS: Type.Integer({ minimum: 1, maximum: 64, default: 8 }),
  OPERATOR_RESYNC_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 }),
  OPERATOR_LEASE_NAME: Type.String({ minLength: 1, default: 'croupier-operator' }),
  OPERATOR_LEASE_DURATION_SECONDS: Type.Integer({ minimum: 2, maximum: 600, default: 30 }),
  OPERATOR_LEASE_RENEW_SECONDS: Type.Integer({ minimum: 1, maximum: 300, default: 10 }),
  OPERATOR_SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 20_000 }),
  OPERATOR_IMAGE_WALLET: Type.String({ default: 'ghcr.io/croupier/wallet:0.1.0' }),
  OPERATOR_IMAGE_RULES: Type.String({ default: 'ghcr.io/croupier/rules:0.1.0' }),
  OPERATOR_IMAGE_GATEWAY: Type.String({ default: 'ghcr.io/croupier/push-gateway:0.1.0' }),
  /** `{brand}` is replaced by the brand id; empty means the in-cluster Service URL. */
  OPERATOR_GATEWAY_URL_TEMPLATE: Type.String({ default: '' }),
  /** Mail relay the rules engines send compliance email through, such as `smtp://mail.infra.svc:25`; empty leaves the service default. */
  OPERATOR_SMTP_URL: Type.String({ default: '', pattern: '^(smtps?://.+)?$' }),
  /** Timeout of one call to RabbitMQ, Redis or PostgreSQL during reconcile. */
  OPERATOR_INFRASTRUCTURE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  LOG_LEVEL: Type.String({ default: 'info' }),
});

const SecretName = Type.String({ minLength: 1, maxLength: 253, description: 'Secret in the operator namespace with keys username and password.' });

const MessagingProfile = Type.Object({
  managementUrl: Type.String({ pattern: '^https?://' }),
  amqpHost: Type.String({ minLength: 1 }),
  amqpPort: Type.Integer({ minimum: 1, maximum: 65535, default: 5672 }),
  amqpTls: Type.Boolean({ default: false }),
  adminSecret: SecretName,
});

const CacheProfile = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 6379 }),
  tls: Type.Boolean({ default: false }),
  adminSecret: SecretName,
});

const DatabaseProfile = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 5432 }),
  adminDatabase: Type.String({ minLength: 1, default: 'postgres' }),
  ssl: Type.Boolean({ default: false }),
  adminSecret: SecretName,
});

export const InfrastructureProfilesSchema = Type.Object({
  messaging: Type.Record(Type.String(), MessagingProfile),
  cache: Type.Record(Type.String(), CacheProfile),
  database: Type.Record(Type.String(), DatabaseProfile),
});

export type OperatorEnv = Static<typeof OperatorEnvSchema>;
export type InfrastructureProfiles = Static<typeof InfrastructureProfilesSchema>;
export type MessagingProfile = Static<typeof MessagingProfile>;
export type CacheProfile = Static<typeof CacheProfile>;
export type DatabaseProfile = Static<typeof DatabaseProfile>;

export interface OperatorConfig extends OperatorEnv {
  profiles: InfrastructureProfiles;
}

export function parseInfrastructureProfiles(text: string, source: string): InfrastructureProfiles {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError([`${source}: not valid YAML or JSON: ${(error as Error).message}`]);
  }
  // Value.Default does not descend into Record values, so each profile gets its defaults here.
  const withDefaults = Value.Clone(raw) as Record<string, unknown>;
  const partSchemas = { messaging: MessagingProfile, cache: CacheProfile, database: DatabaseProfile };
  if (typeof withDefaults === 'object' && withDefaults !== null) {
    for (const [part, schema] of Object.entries(partSchemas)) {
      const profiles = withDefaults[part];
      if (typeof profiles !== 'object' || profiles === null) continue;
      for (const [name, profile] of Object.entries(profiles)) {
        (profiles as Record<string, unknown>)[name] = Value.Default(schema, profile);
      }
    }
  }
  const problems = [...Value.Errors(InfrastructureProfilesSchema, withDefaults)].map(
    (error) => `${source}${error.path || '/'}: ${error.message}`,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return withDefaults as InfrastructureProfiles;
}

export function readOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const settings = readConfig(OperatorEnvSchema, env);
  if (settings.OPERATOR_LEASE_RENEW_SECONDS >= settings.OPERATOR_LEASE_DURATION_SECONDS) {
    throw new ConfigError(['OPERATOR_LEASE_RENEW_SECONDS: must be below OPERATOR_LEASE_DURATION_SECONDS']);
  }
  let text: string;
  try {
    text = readFileSync(settings.OPERATOR_INFRASTRUCTURE_FILE, 'utf8');
  } catch (error) {
    throw new ConfigError([`OPERATOR_INFRASTRUCTURE_FILE: cannot read ${settings.OPERATOR_INFRASTRUCTURE_FILE}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  return { ...settings, profiles: parseInfrastructureProfiles(text, settings.OPERATOR_INFRASTRUCTURE_FILE) };
}
