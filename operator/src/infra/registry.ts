import type { Logger } from 'pino';
import type { CacheProfile, DatabaseProfile, InfrastructureProfiles, MessagingProfile } from '../config.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { InfrastructureError } from './errors.js';
import { PostgresProvisioner } from './postgres.js';
import { RabbitMqProvisioner } from './rabbitmq.js';
import { RedisProvisioner } from './redis.js';
import type { CacheDesired, Credential, DatabaseDesired, MessagingDesired, Provisioner } from './types.js';

/**
 * Hands out one provisioner per infrastructure profile, created on first use
 * with the admin credentials read from the profile's Secret in the operator
 * namespace. A provisioner that failed is dropped, so the next attempt reads
 * the Secret again: rotating an admin password needs no operator restart.
 */

/** Time a discarded provisioner stays open for reconciles still using it. */
const DISCARD_GRACE_MS = 60_000;

export type Part = 'messaging' | 'cache' | 'database';

interface PartTypes {
  messaging: { profile: MessagingProfile; desired: MessagingDesired };
  cache: { profile: CacheProfile; desired: CacheDesired };
  database: { profile: DatabaseProfile; desired: DatabaseDesired };
}

export class InfrastructureRegistry {
  private readonly provisioners = new Map<string, Promise<Provisioner<unknown>>>();
  private readonly discarded = new Set<Promise<Provisioner<unknown>>>();

  constructor(
    private readonly profiles: InfrastructureProfiles,
    private readonly client: KubeClient,
    private readonly operatorNamespace: string,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  profile<P extends Part>(part: P, name: string): PartTypes[P]['profile'] | undefined {
    return this.profiles[part][name] as PartTypes[P]['profile'] | undefined;
  }

  async get<P extends Part>(part: P, name: string): Promise<Provisioner<PartTypes[P]['desired']>> {
    const key = `${part}/${name}`;
    let pending = this.provisioners.get(key);
    if (pending === undefined) {
      pending = this.create(part, name);
      this.provisioners.set(key, pending);
      pending.catch(() => this.provisioners.delete(key));
    }
    return (await pending) as Provisioner<PartTypes[P]['desired']>;
  }

  /**
   * Forgets a provisioner after a failure; the next `get` builds a new one.
   * Other reconciles may still be using the old one, so it is closed only
   * after a grace period.
   */
  discard(part: Part, name: string): void {
    const key = `${part}/${name}`;
    const pending = this.provisioners.get(key);
    if (pending === undefined) return;
    this.provisioners.delete(key);
    const timer = setTimeout(() => {
      void pending.then((provisioner) => provisioner.close()).catch(() => undefined);
    }, DISCARD_GRACE_MS);
    timer.unref();
    this.discarded.add(pending);
  }

  async close(): Promise<void> {
    const all = [...this.provisioners.values(), ...this.discarded];
    this.provisioners.clear();
    this.discarded.clear();
    await Promise.all(all.map(async (pending) => (await pending.catch(() => undefined))?.close().catch(() => undefined)));
  }

  private async create(part: Part, name: string): Promise<Provisioner<unknown>> {
    const profile = this.profiles[part][name];
    if (profile === undefined) {
      throw new InfrastructureError('OPERATOR_UNKNOWN_PROFILE', part, false, `no ${part} profile named "${name}" in the operator configuration`);
    }
    const admin = await this.readAdminSecret(part, profile.adminSecret);
    this.logger.info({ part, profile: name }, 'infrastructure profile connected');
    if (part === 'messaging') {
      const messaging = profile as MessagingProfile;
      return new RabbitMqProvisioner({ managementUrl: messaging.managementUrl, admin }, { requestTimeoutMs: this.timeoutMs }) as Provisioner<unknown>;
    }
    if (part === 'cache') {
      const cache = profile as CacheProfile;
      return new RedisProvisioner({ host: cache.host, port: cache.port, tls: cache.tls, admin }, { connectTimeoutMs: this.timeoutMs, commandTimeoutMs: this.timeoutMs }) as Provisioner<unknown>;
    }
    const database = profile as DatabaseProfile;
    return new PostgresProvisioner(
      { host: database.host, port: database.port, adminDatabase: database.adminDatabase, ssl: database.ssl, admin },
      { connectTimeoutMs: this.timeoutMs, statementTimeoutMs: Math.max(this.timeoutMs, 10_000) },
    ) as Provisioner<unknown>;
  }

  private async readAdminSecret(part: Part, secretName: string): Promise<Credential> {
    const secret = await this.client.get<KubeObject & { data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: this.operatorNamespace,
      name: secretName,
    });
    const decode = (key: string): string | undefined => {
      const value = secret?.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    };
    const username = decode('username');
    const password = decode('password');
    if (username === undefined || password === undefined) {
      throw new InfrastructureError(
        'OPERATOR_ADMIN_SECRET_INVALID',
        part,
        true,
        `Secret ${this.operatorNamespace}/${secretName} ${secret === undefined ? 'does not exist' : 'lacks the keys username and password'}`,
      );
    }
    return { username, password };
  }
}
