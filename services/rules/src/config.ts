import { Type } from '@sinclair/typebox';
import { ConfigError, readConfig } from '@croupier/shared';

/**
 * Environment variables of the rules service. The operator sets BRAND, HOST,
 * PORT, AMQP_URL, REDIS_URL, DATABASE_URL and RULES_FILE; the others have
 * defaults. The README lists each one with its meaning.
 */
export const RulesEnvSchema = Type.Object({
  BRAND: Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  AMQP_URL: Type.String({ pattern: '^amqps?://' }),
  REDIS_URL: Type.String({ pattern: '^rediss?://' }),
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  RULES_FILE: Type.String({ minLength: 1 }),
  SMTP_URL: Type.String({ pattern: '^smtps?://', default: 'smtp://127.0.0.1:25' }),
  RULES_COMPLIANCE_EMAIL: Type.String({ minLength: 3, default: 'compliance@localhost' }),
  RULES_EMAIL_FROM: Type.String({ minLength: 3, default: 'rules@localhost' }),
  STAFF_TOKEN_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  STAFF_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 12 * 3600, default: 8 * 3600 }),
  RULES_STAFF_SEED: Type.Optional(Type.String({ minLength: 2 })),
  RULES_MAX_LATENESS_SECONDS: Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 3600 }),
  RULES_DEDUP_TTL_SECONDS: Type.Integer({ minimum: 60, default: 7 * 86_400 }),
  BUS_PREFETCH: Type.Integer({ minimum: 1, maximum: 1000, default: 32 }),
  PG_POOL_SIZE: Type.Integer({ minimum: 2, maximum: 100, default: 10 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  LOG_LEVEL: Type.String({ default: 'info' }),
});

export interface StaffSeedEntry {
  username: string;
  password: string;
  role: 'agent' | 'compliance_officer';
}

export interface RulesConfig {
  brand: string;
  host: string;
  /** 0 picks a free port; the service handle reports the bound one. */
  port: number;
  amqpUrl: string;
  redisUrl: string;
  databaseUrl: string;
  rulesFile: string;
  smtpUrl: string;
  complianceEmail: string;
  emailFrom: string;
  /** Undefined when STAFF_TOKEN_SECRET is unset; the service then draws a random one at start. */
  staffTokenSecret: string | undefined;
  staffTokenTtlSeconds: number;
  staffSeed: StaffSeedEntry[];
  /** Maximum lateness, in event time, at which an event still finds every entry its windows need. */
  maxLatenessMs: number;
  dedupTtlSeconds: number;
  busPrefetch: number;
  pgPoolSize: number;
  shutdownTimeoutMs: number;
  logLevel: string;
}

/** Reads and checks the rules service settings; throws ConfigError naming every invalid variable. */
export function loadRulesConfig(env: NodeJS.ProcessEnv = process.env): RulesConfig {
  const raw = readConfig(RulesEnvSchema, env);
  const problems: string[] = [];

  if (raw.STAFF_TOKEN_SECRET !== undefined && Buffer.byteLength(raw.STAFF_TOKEN_SECRET) < 32) {
    problems.push('STAFF_TOKEN_SECRET: must be at least 32 bytes');
  }
  const staffSeed = raw.RULES_STAFF_SEED === undefined ? [] : parseStaffSeed(raw.RULES_STAFF_SEED, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    brand: raw.BRAND,
    host: raw.HOST,
    port: raw.PORT,
    amqpUrl: raw.AMQP_URL,
    redisUrl: raw.REDIS_URL,
    databaseUrl: raw.DATABASE_URL,
    rulesFile: raw.RULES_FILE,
    smtpUrl: raw.SMTP_URL,
    complianceEmail: raw.RULES_COMPLIANCE_EMAIL,
    emailFrom: raw.RULES_EMAIL_FROM,
    staffTokenSecret: raw.STAFF_TOKEN_SECRET,
    staffTokenTtlSeconds: raw.STAFF_TOKEN_TTL_SECONDS,
    staffSeed,
    maxLatenessMs: raw.RULES_MAX_LATENESS_SECONDS * 1000,
    dedupTtlSeconds: raw.RULES_DEDUP_TTL_SECONDS,
    busPrefetch: raw.BUS_PREFETCH,
    pgPoolSize: raw.PG_POOL_SIZE,
    shutdownTimeoutMs: raw.SHUTDOWN_TIMEOUT_MS,
    logLevel: raw.LOG_LEVEL,
  };
}

const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,62}$/;

/** Parses `[{"username","password","role"}]`; reports problems by index without echoing a password. */
export function parseStaffSeed(json: string, problems: string[]): StaffSeedEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    problems.push('RULES_STAFF_SEED: is not valid JSON; expected [{"username","password","role"}]');
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push('RULES_STAFF_SEED: expected a JSON array of {"username","password","role"}');
    return [];
  }
  const entries: StaffSeedEntry[] = [];
  parsed.forEach((item: unknown, index) => {
    const entry = item as Partial<Record<keyof StaffSeedEntry, unknown>> | null;
    const problem = staffEntryProblem(entry?.username, entry?.password, entry?.role);
    if (problem !== undefined) problems.push(`RULES_STAFF_SEED: entry ${index} ${problem}`);
    else entries.push(entry as StaffSeedEntry);
  });
  return entries;
}

/** Returns what is wrong with one staff account, or undefined when it is valid. */
export function staffEntryProblem(username: unknown, password: unknown, role: unknown): string | undefined {
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
    return `username must match ${USERNAME_PATTERN.source}`;
  }
  if (typeof password !== 'string' || password.length < 12) return 'password must be a string of at least 12 characters';
  if (role !== 'agent' && role !== 'compliance_officer') return 'role must be agent or compliance_officer';
  return undefined;
}
