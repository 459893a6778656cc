import type { ServiceName, Tenant } from '../api/tenant.js';
import type { CacheProfile, DatabaseProfile, MessagingProfile } from '../config.js';
import { databaseName, databaseRole, rabbitMqUser, redisUser, vhostName } from '../infra/names.js';
import type { BrandCredentials } from './credentials.js';
import { HTTP_PORT, RULES_KEY, WORKLOAD_NAMES } from './desired.js';

/**
 * The environment each brand service starts with, in the variable names the
 * services read (see services/wallet/src/config.ts and
 * services/push-gateway/src/config.ts). Connection URLs embed the brand's own
 * credentials, so the whole environment goes into a Secret.
 */

export interface BrandProfiles {
  messaging: MessagingProfile;
  cache: CacheProfile;
  database: DatabaseProfile;
}

/** Name of the provider whose HMAC secret the operator generates. */
export const DEFAULT_PROVIDER = 'default';

function amqpUrl(profile: MessagingProfile, brand: string, service: ServiceName, password: string): string {
  const scheme = profile.amqpTls ? 'amqps' : 'amqp';
  const user = encodeURIComponent(rabbitMqUser(brand, service));
  return `${scheme}://${user}:${encodeURIComponent(password)}@${profile.amqpHost}:${profile.amqpPort}/${encodeURIComponent(vhostName(brand))}`;
}

function redisUrl(profile: CacheProfile, brand: string, service: 'gateway' | 'rules', password: string): string {
  const scheme = profile.tls ? 'rediss' : 'redis';
  return `${scheme}://${encodeURIComponent(redisUser(brand, service))}:${encodeURIComponent(password)}@${profile.host}:${profile.port}`;
}

function databaseUrl(profile: DatabaseProfile, brand: string, service: 'wallet' | 'rules', password: string): string {
  const ssl = profile.ssl ? '?sslmode=require' : '';
  return `postgres://${encodeURIComponent(databaseRole(brand, service))}:${encodeURIComponent(password)}@${profile.host}:${profile.port}/${databaseName(brand)}${ssl}`;
}

export function serviceEnvironment(
  tenant: Tenant,
  namespace: string,
  profiles: BrandProfiles,
  credentials: BrandCredentials,
  mail: { smtpUrl: string },
): Record<ServiceName, Record<string, string>> {
  const brand = tenant.spec.brand;
  return {
    wallet: {
      WALLET_BRAND: brand,
      WALLET_HTTP_HOST: '0.0.0.0',
      WALLET_HTTP_PORT: String(HTTP_PORT),
      DATABASE_URL: databaseUrl(profiles.database, brand, 'wallet', credentials['postgres-wallet-password']),
      AMQP_URL: amqpUrl(profiles.messaging, brand, 'wallet', credentials['rabbitmq-wallet-password']),
      WALLET_PROVIDER_SECRETS: JSON.stringify({ [DEFAULT_PROVIDER]: credentials['provider-secret'] }),
      WALLET_PAYMENT_SECRET: credentials['payment-secret'],
      WALLET_API_KEYS: credentials['wallet-api-key'],
      WALLET_PLAYER_TOKEN_SECRET: credentials['player-token-secret'],
      // TODO: the wallet accepts any ISO 4217 code today; this list is what it
      // should restrict new accounts to once it reads the variable.
      WALLET_CURRENCIES: tenant.spec.currencies.join(','),
    },
    rules: {
      BRAND: brand,
      HOST: '0.0.0.0',
      PORT: String(HTTP_PORT),
      AMQP_URL: amqpUrl(profiles.messaging, brand, 'rules', credentials['rabbitmq-rules-password']),
      REDIS_URL: redisUrl(profiles.cache, brand, 'rules', credentials['redis-rules-password']),
      DATABASE_URL: databaseUrl(profiles.database, brand, 'rules', credentials['postgres-rules-password']),
      RULES_FILE: `/etc/croupier/rules/${RULES_KEY}`,
      STAFF_TOKEN_SECRET: credentials['staff-token-secret'],
      ...(mail.smtpUrl === '' ? {} : { SMTP_URL: mail.smtpUrl }),
      ...(tenant.spec.complianceEmail === undefined ? {} : { RULES_COMPLIANCE_EMAIL: tenant.spec.complianceEmail }),
    },
    gateway: {
      BRAND: brand,
      HOST: '0.0.0.0',
      PORT: String(HTTP_PORT),
      REDIS_URL: redisUrl(profiles.cache, brand, 'gateway', credentials['redis-gateway-password']),
      AMQP_URL: amqpUrl(profiles.messaging, brand, 'gateway', credentials['rabbitmq-gateway-password']),
      PLAYER_TOKEN_SECRET: credentials['player-token-secret'],
      WALLET_BASE_URL: `http://${WORKLOAD_NAMES.wallet}.${namespace}.svc:${HTTP_PORT}`,
      WALLET_API_KEY: credentials['wallet-api-key'],
      STAFF_TOKEN_SECRET: credentials['staff-token-secret'],
      RULES_BASE_URL: `http://${WORKLOAD_NAMES.rules}.${namespace}.svc:${HTTP_PORT}`,
    },
  };
}
