import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DEAD_LETTER_EXCHANGE,
  EVENTS_EXCHANGE,
  UNROUTED_EXCHANGE,
  UNROUTED_MAX_LENGTH,
  UNROUTED_QUEUE,
  deadLetterQueueName,
  serviceQueueName,
} from '@croupier/shared';
import { InfrastructureError } from './errors.js';
import { applyRepairs, type Repair } from './repairs.js';
import { rabbitMqUser, vhostName } from './names.js';
import type { BrandService, Credential, MessagingDesired, Observation, Provisioner, RabbitMqTarget } from './types.js';

const SERVICES: readonly BrandService[] = ['wallet', 'rules', 'gateway'];

/**
 * Service name that each consumer passes to `declareServiceQueue`, which
 * derives its queue names. The push gateway sets it as `BUS_SERVICE_NAME` in
 * its server.ts.
 */
const CONSUMER_BUS_NAMES: Record<Exclude<BrandService, 'wallet'>, string> = {
  rules: 'rules',
  gateway: 'push-gateway',
};

export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/**
 * Builds a regex that matches exactly the given resource names. RabbitMQ
 * matches permission regexes against exchange and queue names alike, and
 * unanchored, so every name is escaped and the whole is anchored.
 */
function exactNames(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return `^(?:${unique.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

/**
 * Returns the least permissions with which a service can declare its topology
 * through `declareExchanges`/`declareServiceQueue` and do its job. They were
 * found on RabbitMQ 3.10 by removing one name at a time on a fresh vhost:
 *
 * - configure: every exchange and queue the service declares, because a
 *   declaration needs it even when the resource exists.
 * - write: on the queue for queue.bind, on the target exchange for publishing,
 *   on the alternate exchange when creating an exchange that has one, and on
 *   the dead-letter exchange when creating a queue that has one.
 * - read: on the source exchange for queue.bind, on the queue for consuming,
 *   on a new exchange that has an alternate exchange, and on a new queue that
 *   has a dead-letter exchange.
 *
 * The alternate-exchange and dead-letter checks run only when the resource is
 * created, but whichever service starts first creates it, so every service
 * needs them.
 *
 * NOTE: because services declare the shared exchanges themselves, every user
 * can also delete them (configure), and the unrouted exchange and queue share
 * one name, so read on that exchange also lets a user consume the unrouted
 * queue. Consumers can publish to the dead-letter and unrouted exchanges.
 * Closing these gaps needs the operator to declare the topology and the
 * services to declare passively.
 */
export function leastPermissions(service: BrandService): Permissions {
  if (service === 'wallet') {
    return {
      configure: exactNames([EVENTS_EXCHANGE, UNROUTED_EXCHANGE, UNROUTED_QUEUE, DEAD_LETTER_EXCHANGE]),
      write: exactNames([EVENTS_EXCHANGE, UNROUTED_EXCHANGE, UNROUTED_QUEUE]),
      read: exactNames([EVENTS_EXCHANGE, UNROUTED_EXCHANGE]),
    };
  }
  const busName = CONSUMER_BUS_NAMES[service];
  const queue = serviceQueueName(busName);
  const deadLetterQueue = deadLetterQueueName(busName);
  return {
    configure: exactNames([EVENTS_EXCHANGE, UNROUTED_EXCHANGE, UNROUTED_QUEUE, DEAD_LETTER_EXCHANGE, queue, deadLetterQueue]),
    write: exactNames([UNROUTED_EXCHANGE, UNROUTED_QUEUE, DEAD_LETTER_EXCHANGE, queue, deadLetterQueue]),
    read: exactNames([EVENTS_EXCHANGE, UNROUTED_EXCHANGE, DEAD_LETTER_EXCHANGE, queue]),
  };
}

export interface Policy {
  name: string;
  pattern: string;
  'apply-to': 'queues' | 'exchanges' | 'all';
  priority: number;
  definition: Record<string, string | number>;
}

/** Prefix of the policies this provisioner owns in a brand's vhost; others are left alone. */
const POLICY_PREFIX = 'croupier-';

/**
 * Queue policies of every brand vhost. RabbitMQ applies only the policy of
 * highest priority to a queue, so the dead-letter policy repeats the leader
 * locator.
 *
 * - `queue-leader-locator: balanced` places each new quorum queue's leader on
 *   the node with the fewest leaders, so brands spread over a cluster instead
 *   of piling on the node each service happened to connect to. It acts when a
 *   queue is declared, so it must exist before the services start.
 * - Dead-letter queues have no consumer and grow until someone inspects them.
 *   They are bounded like the unrouted queue. With `drop-head` a full queue
 *   drops its oldest letters and still takes new ones.
 */
export const BRAND_POLICIES: readonly Policy[] = [
  {
    name: `${POLICY_PREFIX}queues`,
    pattern: '.*',
    'apply-to': 'queues',
    priority: 0,
    definition: { 'queue-leader-locator': 'balanced' },
  },
  {
    name: `${POLICY_PREFIX}dead-letter-queues`,
    pattern: '\\.events\\.dead-letter$',
    'apply-to': 'queues',
    priority: 1,
    definition: { 'queue-leader-locator': 'balanced', 'max-length': UNROUTED_MAX_LENGTH, overflow: 'drop-head' },
  },
];

const HASH_ALGORITHMS: Record<string, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};

/**
 * Checks a password against a stored RabbitMQ hash, which is
 * base64(salt || H(salt || password)) with a 4-byte salt.
 */
export function rabbitMqPasswordMatches(password: string, passwordHash: string, hashingAlgorithm: string): boolean {
  const algorithm = HASH_ALGORITHMS[hashingAlgorithm];
  if (algorithm === undefined) return false;
  const decoded = Buffer.from(passwordHash, 'base64');
  if (decoded.length <= 4) return false;

  const salt = decoded.subarray(0, 4);
  const expected = decoded.subarray(4);
  const actual = createHash(algorithm).update(salt).update(password, 'utf8').digest();
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Hashes a password the way RabbitMQ does, so the user is created without the
 * password crossing the wire, which the management API may serve over plain HTTP.
 */
function rabbitMqPasswordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

interface UserResponse {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  /** A list since RabbitMQ 3.9, a comma-separated string before. */
  tags: string[] | string;
}

interface PermissionResponse extends Permissions {
  vhost: string;
}

type PolicyResponse = Policy & { vhost: string };

/** One difference from the desired state and the write that removes it. */
export interface RabbitMqProvisionerOptions {
  /** Time limit of each management API request, in milliseconds. */
  requestTimeoutMs?: number;
}

type Method = 'GET' | 'PUT' | 'DELETE';

/**
 * Provisions a brand's vhost, its service users with their permissions, and
 * its queue policies through the RabbitMQ management HTTP API.
 */
export class RabbitMqProvisioner implements Provisioner<MessagingDesired> {
  readonly part = 'messaging' as const;
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly requestTimeoutMs: number;

  constructor(target: RabbitMqTarget, options: RabbitMqProvisionerOptions = {}) {
    this.baseUrl = target.managementUrl.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${target.admin.username}:${target.admin.password}`).toString('base64')}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async observe(brand: string, desired: MessagingDesired): Promise<Observation> {
    const repairs = await this.plan(brand, desired);
    return { drift: repairs.map((repair) => repair.drift) };
  }

  async ensure(brand: string, desired: MessagingDesired): Promise<string[]> {
    return applyRepairs(await this.plan(brand, desired));
  }

  async remove(brand: string): Promise<void> {
    // Deleting the vhost closes its connections and deletes its queues,
    // exchanges, permissions and policies.
    await this.request('DELETE', `/api/vhosts/${encodeURIComponent(vhostName(brand))}`);
    for (const service of SERVICES) {
      await this.request('DELETE', `/api/users/${encodeURIComponent(rabbitMqUser(brand, service))}`);
    }
  }

  async close(): Promise<void> {
    // Requests go through fetch's shared connection pool, so this class keeps no connection of its own.
  }

  /** Reads the brand's state and lists the writes that bring it to `desired`, in the order they must run. */
  private async plan(brand: string, desired: MessagingDesired): Promise<Repair[]> {
    const vhost = vhostName(brand);
    const vhostPath = encodeURIComponent(vhost);
    const repairs: Repair[] = [];

    const vhostExists = (await this.get(`/api/vhosts/${vhostPath}`)) !== undefined;
    if (!vhostExists) {
      repairs.push({
        drift: `vhost ${vhost} is missing`,
        change: `created vhost ${vhost}`,
        apply: () => this.request('PUT', `/api/vhosts/${vhostPath}`, { description: `Croupier brand ${brand}` }),
      });
    }

    for (const service of SERVICES) {
      const user = rabbitMqUser(brand, service);
      repairs.push(...(await this.planUser(user, desired[service])));
      repairs.push(...(await this.planPermissions(vhost, user, leastPermissions(service), vhostExists)));
    }

    repairs.push(...(await this.planPolicies(vhost, vhostExists)));
    return repairs;
  }

  private async planUser(user: string, credential: Credential): Promise<Repair[]> {
    const userPath = `/api/users/${encodeURIComponent(user)}`;
    const current = await this.get<UserResponse>(userPath);
    const write = (): Promise<void> =>
      this.request(
        'PUT',
        userPath,
        {
          password_hash: rabbitMqPasswordHash(credential.password),
          hashing_algorithm: 'rabbit_password_hashing_sha256',
          tags: '',
        },
        true,
      );

    if (current === undefined) {
      return [{ drift: `user ${user} is missing`, change: `created user ${user}`, apply: write }];
    }

    const problems: string[] = [];
    if (!rabbitMqPasswordMatches(credential.password, current.password_hash, current.hashing_algorithm)) {
      problems.push('password does not match');
    }
    const tags = typeof current.tags === 'string' ? current.tags.split(',').filter((tag) => tag !== '') : current.tags;
    if (tags.length > 0) problems.push(`has tags ${tags.join(', ')}, expected none`);
    if (problems.length === 0) return [];

    return [
      {
        drift: `user ${user}: ${problems.join('; ')}`,
        change: `updated user ${user} (${problems.join('; ')})`,
        apply: write,
      },
    ];
  }

  private async planPermissions(vhost: string, user: string, expected: Permissions, vhostExists: boolean): Promise<Repair[]> {
    const repairs: Repair[] = [];
    const userPath = encodeURIComponent(user);
    const all = (await this.get<PermissionResponse[]>(`/api/users/${userPath}/permissions`)) ?? [];

    // A brand user may reach its own vhost only.
    for (const other of all.filter((permission) => permission.vhost !== vhost)) {
      repairs.push({
        drift: `user ${user} has permissions on vhost ${other.vhost}, which is not its brand's`,
        change: `revoked permissions of user ${user} on vhost ${other.vhost}`,
        apply: () => this.request('DELETE', `/api/permissions/${encodeURIComponent(other.vhost)}/${userPath}`),
      });
    }

    const current = vhostExists ? all.find((permission) => permission.vhost === vhost) : undefined;
    const differences = current === undefined ? [] : permissionDifferences(current, expected);
    if (current !== undefined && differences.length === 0) return repairs;

    repairs.push({
      drift:
        current === undefined
          ? `permissions of user ${user} on vhost ${vhost} are missing`
          : `permissions of user ${user} on vhost ${vhost} differ: ${differences.join('; ')}`,
      change: `set permissions of user ${user} on vhost ${vhost}`,
      apply: () => this.request('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${userPath}`, expected),
    });
    return repairs;
  }

  private async planPolicies(vhost: string, vhostExists: boolean): Promise<Repair[]> {
    const vhostPath = encodeURIComponent(vhost);
    const current = vhostExists ? ((await this.get<PolicyResponse[]>(`/api/policies/${vhostPath}`)) ?? []) : [];
    const repairs: Repair[] = [];

    for (const policy of BRAND_POLICIES) {
      const existing = current.find((candidate) => candidate.name === policy.name);
      if (existing !== undefined && policiesEqual(existing, policy)) continue;
      const { name, ...body } = policy;
      repairs.push({
        drift: existing === undefined ? `policy ${name} on vhost ${vhost} is missing` : `policy ${name} on vhost ${vhost} differs`,
        change: `set policy ${name} on vhost ${vhost}`,
        apply: () => this.request('PUT', `/api/policies/${vhostPath}/${encodeURIComponent(name)}`, body),
      });
    }

    const ownedNames = new Set(BRAND_POLICIES.map((policy) => policy.name));
    for (const extra of current.filter((policy) => policy.name.startsWith(POLICY_PREFIX) && !ownedNames.has(policy.name))) {
      repairs.push({
        drift: `policy ${extra.name} on vhost ${vhost} is not expected`,
        change: `deleted policy ${extra.name} on vhost ${vhost}`,
        apply: () => this.request('DELETE', `/api/policies/${vhostPath}/${encodeURIComponent(extra.name)}`),
      });
    }
    return repairs;
  }

  /** Fetches a JSON resource, or returns undefined on 404. */
  private async get<T>(path: string): Promise<T | undefined> {
    const response = await this.send('GET', path);
    if (response.status === 404) return undefined;
    return (await response.json()) as T;
  }

  /** Sends a write, where a 404 on DELETE counts as done. `sensitiveBody` keeps the response body out of error messages. */
  private async request(method: Method, path: string, body?: unknown, sensitiveBody = false): Promise<void> {
    const response = await this.send(method, path, body, sensitiveBody);
    await response.body?.cancel();
  }

  private async send(method: Method, path: string, body?: unknown, sensitiveBody = false): Promise<Response> {
    const call = `${method} ${path}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: this.authorization, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (error) {
      throw unreachable(call, error, this.requestTimeoutMs);
    }

    const tolerated = response.status === 404 && (method === 'GET' || method === 'DELETE');
    if (response.ok || tolerated) return response;

    const reason = sensitiveBody ? '' : await errorReason(response);
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    const hint = response.status === 401 || response.status === 403 ? '. Check the admin credential and its administrator tag' : '';
    throw new InfrastructureError(
      'OPERATOR_RABBITMQ_REQUEST_FAILED',
      'messaging',
      retryable,
      `RabbitMQ management request ${call} failed with HTTP ${response.status}${reason}${hint}`,
    );
  }
}

function permissionDifferences(current: Permissions, expected: Permissions): string[] {
  return (['configure', 'write', 'read'] as const)
    .filter((kind) => current[kind] !== expected[kind])
    .map((kind) => `${kind} is '${current[kind]}', expected '${expected[kind]}'`);
}

function policiesEqual(current: Policy, expected: Policy): boolean {
  return (
    current.pattern === expected.pattern &&
    current['apply-to'] === expected['apply-to'] &&
    current.priority === expected.priority &&
    canonicalJson(current.definition) === canonicalJson(expected.definition)
  );
}

function canonicalJson(definition: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(definition).sort().map((key) => [key, definition[key]]));
}

/** Returns `: <reason>` from a RabbitMQ error body, shortened, or an empty string. */
async function errorReason(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  let reason = text;
  try {
    const parsed = JSON.parse(text) as { reason?: unknown };
    if (typeof parsed.reason === 'string') reason = parsed.reason;
  } catch {
    // The body is not JSON, so the raw text is the reason.
  }
  reason = reason.replace(/\s+/g, ' ').trim().slice(0, 300);
  return reason === '' ? '' : `: ${reason}`;
}

function unreachable(call: string, error: unknown, timeoutMs: number): InfrastructureError {
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
  const detail = timedOut ? `timed out after ${timeoutMs} ms` : `failed: ${cause}`;
  return new InfrastructureError(
    'OPERATOR_RABBITMQ_UNREACHABLE',
    'messaging',
    true,
    `RabbitMQ management request ${call} ${detail}. Check that the management API is reachable`,
    { cause: error },
  );
}
