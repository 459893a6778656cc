/**
 * What the operator provisions for one brand on the shared RabbitMQ, Redis
 * and PostgreSQL clusters, and the contract every provisioner follows.
 *
 * A provisioner is level-triggered: `observe` reads the current state without
 * writing, `ensure` writes only what differs from the desired state, and
 * `remove` deletes the brand's data and users. All three are idempotent.
 */

/** The services of a brand that get credentials of their own. */
export type BrandService = 'wallet' | 'rules' | 'gateway';

export interface Credential {
  username: string;
  password: string;
}

/** Admin access to one shared RabbitMQ cluster. */
export interface RabbitMqTarget {
  /** Management HTTP API base URL without credentials, such as `http://127.0.0.1:15679`. */
  managementUrl: string;
  admin: Credential;
}

/** Admin access to one shared Redis. */
export interface RedisTarget {
  host: string;
  port: number;
  admin: Credential;
  tls: boolean;
}

/** Admin access to one shared PostgreSQL cluster. */
export interface PostgresTarget {
  host: string;
  port: number;
  admin: Credential;
  /** Database the admin connects to for CREATE DATABASE and role changes. */
  adminDatabase: string;
  ssl: boolean;
}

/** Result of `observe`: a list of differences, empty when the brand is provisioned as desired. */
export interface Observation {
  drift: string[];
}

export interface Provisioner<Desired> {
  /** Human-readable name of the part, used in conditions and logs: messaging, cache or database. */
  readonly part: 'messaging' | 'cache' | 'database';
  observe(brand: string, desired: Desired): Promise<Observation>;
  /** Brings the brand to the desired state; returns the changes it made (empty when none). */
  ensure(brand: string, desired: Desired): Promise<string[]>;
  remove(brand: string): Promise<void>;
  close(): Promise<void>;
}

/** Desired state of messaging: one RabbitMQ user per service in the brand's vhost. */
export type MessagingDesired = Record<BrandService, Credential>;
/** Desired state of the cache: Redis ACL users for the services that use Redis. */
export type CacheDesired = Record<'gateway' | 'rules', Credential>;
/** Desired state of the database: login roles for the services that use PostgreSQL. */
export type DatabaseDesired = Record<'wallet' | 'rules', Credential>;
