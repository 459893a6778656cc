import type { Logger } from 'pino';
import { ANNOTATIONS, API_VERSION, FINALIZER, KIND, type ServiceName, type Tenant, type TenantStatus } from '../api/tenant.js';
import type { OperatorConfig } from '../config.js';
import { InfrastructureError } from '../infra/errors.js';
import { brandRedisPrefix } from '@croupier/shared';
import { brandNamespace, databaseName, databaseRole, rabbitMqUser, redisUser, vhostName } from '../infra/names.js';
import type { InfrastructureRegistry, Part } from '../infra/registry.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../kube/client.js';
import type { Informer } from '../kube/informer.js';
import { RESOURCE_TYPES, type KindName } from '../kube/resources.js';
import type { OperatorMetrics } from '../metrics.js';
import { CONDITION_TYPES, mergeConditions, readyCondition, statusEqual, type ConditionInput } from './conditions.js';
import { CREDENTIALS_SECRET, planCredentials, type BrandCredentials } from './credentials.js';
import { desiredObjects, HTTP_PORT, namespaceObject, TENANT_LABEL, SERVICE_NAMES, WORKLOAD_NAMES, type DesiredObject } from './desired.js';
import { isSubset } from './drift.js';
import { serviceEnvironment, type BrandProfiles } from './environment.js';
import type { EventRecorder } from './events.js';
import { resolveRules, RulesUnavailableError } from './rules-source.js';

/**
 * Brings one Tenant to its desired state. Level-triggered: it reads the
 * Tenant and every owned object from the informer caches, compares, and
 * writes only what differs, so running it twice in a row writes nothing the
 * second time. Failures are thrown after the status is written; the caller
 * retries them with backoff.
 */

export type Caches = Record<KindName, Informer<KubeObject>>;

export interface ReconcilerDependencies {
  client: KubeClient;
  caches: Caches;
  /** ConfigMaps labelled as rules sources, across namespaces. */
  rulesSources: Informer<KubeObject>;
  config: OperatorConfig;
  infrastructure: InfrastructureRegistry;
  events: EventRecorder;
  metrics: OperatorMetrics;
  logger: Logger;
}

export class ReconcileError extends Error {
  readonly code = 'OPERATOR_RECONCILE_FAILED';
  constructor(
    readonly tenant: string,
    readonly failures: string[],
  ) {
    super(`tenant ${tenant}: ${failures.join('; ')}`);
    this.name = 'ReconcileError';
  }
}

/** Namespaced kinds whose objects the reconciler deletes once they are no longer desired. */
const PRUNABLE_KINDS = ['Secret', 'ConfigMap', 'ServiceAccount', 'Service', 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy'] as const;

const PART_CONDITIONS: Record<Part, string> = {
  messaging: CONDITION_TYPES.messaging,
  cache: CONDITION_TYPES.cache,
  database: CONDITION_TYPES.database,
};

export function isPaused(tenant: Tenant): boolean {
  return tenant.spec.paused === true || tenant.metadata.annotations?.[ANNOTATIONS.paused] === 'true';
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDependencies) {}

  async reconcile(name: string): Promise<void> {
    const tenant = this.deps.caches.Tenant.get(undefined, name) as Tenant | undefined;
    if (tenant === undefined) return;
    if (tenant.metadata.deletionTimestamp !== undefined) return this.finalize(tenant);
    if (isPaused(tenant)) return this.reportPaused(tenant);

    const namespace = brandNamespace(tenant.spec.brand);
    const profiles = this.resolveProfiles(tenant);
    if (typeof profiles === 'string') {
      // Nothing is provisioned yet, so no finalizer is added and the Tenant deletes at once.
      await this.writeStatus(tenant, namespace, [
        { type: CONDITION_TYPES.ready, status: 'False', reason: 'UnknownInfrastructureProfile', message: profiles },
      ]);
      // Retrying cannot help: profiles are read at start, so the next attempt
      // comes when the operator restarts with new profiles or the Tenant changes.
      return;
    }
    await this.ensureFinalizer(tenant);

    let credentials: BrandCredentials;
    let regenerated: boolean;
    try {
      await this.applyAll([namespaceObject({ tenant, namespace })]);
      ({ credentials, regenerated } = await this.ensureCredentials(tenant, namespace));
    } catch (error) {
      // Without the namespace and credentials nothing else can proceed, so the Tenant's status reports the reason.
      if (error instanceof KubeApiError) {
        await this.writeStatus(tenant, namespace, [{ type: CONDITION_TYPES.ready, status: 'False', reason: 'ApplyFailed', message: error.message }]);
      }
      throw error;
    }

    const failures: string[] = [];
    const partConditions = await Promise.all(
      (['messaging', 'cache', 'database'] as const).map((part) => this.provision(tenant, part, credentials, regenerated, failures)),
    );

    let rulesText: string;
    let workloads: ConditionInput;
    try {
      rulesText = await resolveRules(tenant, this.deps.client, this.deps.rulesSources);
      const waves = this.desired(tenant, namespace, profiles, credentials, rulesText);
      for (const wave of waves) await this.applyAll(wave);
      await this.prune(tenant, namespace, waves.flat());
      workloads = this.workloadsCondition(namespace);
    } catch (error) {
      if (error instanceof RulesUnavailableError) {
        workloads = { type: CONDITION_TYPES.workloads, status: 'False', reason: 'RulesUnavailable', message: error.message };
      } else if (error instanceof KubeApiError) {
        // For example a namespace still terminating after an earlier Tenant of the same brand.
        workloads = { type: CONDITION_TYPES.workloads, status: 'False', reason: 'ApplyFailed', message: error.message };
      } else {
        throw error;
      }
      failures.push(error.message);
    }

    const conditions = [...partConditions, workloads];
    await this.writeStatus(tenant, namespace, [readyCondition(conditions), ...conditions]);
    if (failures.length > 0) throw new ReconcileError(name, failures);
  }

  private desired(tenant: Tenant, namespace: string, profiles: BrandProfiles, credentials: BrandCredentials, rulesText: string): DesiredObject[][] {
    const env = serviceEnvironment(tenant, namespace, profiles, credentials, { smtpUrl: this.deps.config.OPERATOR_SMTP_URL });
    const images: Record<ServiceName, string> = {
      wallet: this.deps.config.OPERATOR_IMAGE_WALLET,
      rules: this.deps.config.OPERATOR_IMAGE_RULES,
      gateway: this.deps.config.OPERATOR_IMAGE_GATEWAY,
    };
    return desiredObjects({
      tenant,
      namespace,
      images,
      env,
      rulesText,
      infrastructurePorts: [profiles.messaging.amqpPort, profiles.cache.port, profiles.database.port],
    });
  }

  private resolveProfiles(tenant: Tenant): BrandProfiles | string {
    const { infrastructure } = tenant.spec;
    const messaging = this.deps.infrastructure.profile('messaging', infrastructure.messaging);
    const cache = this.deps.infrastructure.profile('cache', infrastructure.cache);
    const database = this.deps.infrastructure.profile('database', infrastructure.database);
    const missing = [
      messaging === undefined ? `messaging profile "${infrastructure.messaging}"` : undefined,
      cache === undefined ? `cache profile "${infrastructure.cache}"` : undefined,
      database === undefined ? `database profile "${infrastructure.database}"` : undefined,
    ].filter((entry) => entry !== undefined);
    if (messaging === undefined || cache === undefined || database === undefined) {
      return `the operator configuration has no ${missing.join(', ')}`;
    }
    return { messaging, cache, database };
  }

  private async ensureFinalizer(tenant: Tenant): Promise<void> {
    if (tenant.metadata.finalizers?.includes(FINALIZER)) return;
    await this.patchFinalizers(tenant, [...(tenant.metadata.finalizers ?? []), FINALIZER]);
  }

  /**
   * Sets the finalizers with a merge patch guarded by resourceVersion. An
   * apply would try to create a Tenant that was deleted meanwhile. A conflict
   * raises an error and is retried; a missing Tenant needs nothing.
   */
  private async patchFinalizers(tenant: Tenant, finalizers: string[]): Promise<void> {
    try {
      await this.deps.client.mergePatch(
        { apiVersion: API_VERSION, kind: KIND, name: tenant.metadata.name },
        { metadata: { finalizers, resourceVersion: tenant.metadata.resourceVersion } },
      );
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return;
      throw error;
    }
  }

  /** Returns the brand's credentials and whether any of them got a new value in this reconcile. */
  private async ensureCredentials(tenant: Tenant, namespace: string): Promise<{ credentials: BrandCredentials; regenerated: boolean }> {
    const live = this.deps.caches.Secret.get(namespace, CREDENTIALS_SECRET);
    const plan = planCredentials(tenant, namespace, live);
    if (plan.secret !== undefined) {
      await this.deps.client.apply(plan.secret);
      if (plan.rotated) {
        await this.deps.events.record(tenant, 'Normal', 'CredentialsRotated', 'Every brand credential was regenerated; the services roll to pick them up.');
      } else if (live !== undefined && plan.generated.length > 0) {
        await this.deps.events.record(tenant, 'Warning', 'CredentialsRegenerated', `Missing credentials regenerated: ${plan.generated.join(', ')}.`);
      }
    }
    return { credentials: plan.values, regenerated: plan.generated.length > 0 };
  }

  /**
   * Observes one part and repairs what differs. A repair is reported as a
   * DriftRepaired Warning Event unless it only applies credentials that this
   * reconcile generated, as a rotation does.
   */
  private async provision(tenant: Tenant, part: Part, credentials: BrandCredentials, regenerated: boolean, failures: string[]): Promise<ConditionInput> {
    const type = PART_CONDITIONS[part];
    const brand = tenant.spec.brand;
    const profileName = tenant.spec.infrastructure[part];
    try {
      const provisioner = await this.deps.infrastructure.get(part, profileName);
      const desired = desiredInfrastructure(part, brand, credentials);
      // ensure reads first and writes only what differs, so a settled brand costs reads only.
      const changes = await provisioner.ensure(brand, desired as never);
      if (changes.length > 0) {
        this.deps.logger.info({ tenant: tenant.metadata.name, part, changes }, 'infrastructure provisioned');
        const first = tenant.status?.conditions?.find((condition) => condition.type === type)?.status !== 'True';
        if (!first && !regenerated) await this.deps.events.record(tenant, 'Warning', 'DriftRepaired', `${part}: ${changes.join('; ')}`);
      }
      return { type, status: 'True', reason: 'Provisioned', message: `Provisioned on profile "${profileName}".` };
    } catch (error) {
      const code = error instanceof InfrastructureError ? error.code : 'OPERATOR_PROVISIONING_FAILED';
      const message = `${part} on profile "${profileName}": ${(error as Error).message}`;
      failures.push(message);
      this.deps.metrics.reconcileErrors.inc({ part });
      this.deps.logger.warn({ tenant: tenant.metadata.name, part, err: error }, 'provisioning failed');
      this.deps.infrastructure.discard(part, profileName);
      return { type, status: 'False', reason: reasonOf(code), message };
    }
  }

  /** Applies the objects whose live copy lacks what is desired; the rest cost no request. */
  private async applyAll(objects: DesiredObject[]): Promise<void> {
    await Promise.all(
      objects.map(async (object) => {
        const live = this.deps.caches[object.kind as KindName].get(object.metadata.namespace, object.metadata.name);
        if (live !== undefined && isSubset(object, live)) return;
        await this.deps.client.apply(object);
        this.deps.metrics.applies.inc({ kind: object.kind });
      }),
    );
  }

  /**
   * Deletes objects this operator made for the Tenant that are no longer
   * desired, such as a policy an older operator version created under another
   * name. Only objects carrying the Tenant's label and owner reference qualify.
   */
  private async prune(tenant: Tenant, namespace: string, desired: DesiredObject[]): Promise<void> {
    const keep = new Set(desired.map((object) => `${object.kind}/${object.metadata.name}`));
    keep.add(`Secret/${CREDENTIALS_SECRET}`);
    for (const kind of PRUNABLE_KINDS) {
      for (const object of this.deps.caches[kind].list()) {
        if (object.metadata.namespace !== namespace || keep.has(`${kind}/${object.metadata.name}`)) continue;
        if (object.metadata.labels?.[TENANT_LABEL] !== tenant.metadata.name) continue;
        const owners = (object.metadata.ownerReferences as Array<{ uid: string }> | undefined) ?? [];
        if (!owners.some((owner) => owner.uid === tenant.metadata.uid)) continue;
        await this.deps.client.delete({ apiVersion: RESOURCE_TYPES[kind].apiVersion, kind, namespace, name: object.metadata.name });
        this.deps.logger.info({ tenant: tenant.metadata.name, kind, name: object.metadata.name }, 'pruned an object that is no longer desired');
      }
    }
  }

  private workloadsCondition(namespace: string): ConditionInput {
    const waiting: string[] = [];
    for (const service of SERVICE_NAMES) {
      const deployment = this.deps.caches.Deployment.get(namespace, WORKLOAD_NAMES[service]) as
        | (KubeObject & { spec?: { replicas?: number }; status?: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number } })
        | undefined;
      if (deployment === undefined) {
        waiting.push(`${WORKLOAD_NAMES[service]}: not created yet`);
        continue;
      }
      const wanted = deployment.spec?.replicas ?? 1;
      const status = deployment.status ?? {};
      if ((status.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0)) waiting.push(`${WORKLOAD_NAMES[service]}: rollout not observed yet`);
      else if ((status.updatedReplicas ?? 0) < wanted) waiting.push(`${WORKLOAD_NAMES[service]}: ${status.updatedReplicas ?? 0}/${wanted} replicas updated`);
      else if ((status.availableReplicas ?? 0) < wanted) waiting.push(`${WORKLOAD_NAMES[service]}: ${status.availableReplicas ?? 0}/${wanted} replicas available`);
    }
    if (waiting.length === 0) {
      return { type: CONDITION_TYPES.workloads, status: 'True', reason: 'Available', message: 'Every Deployment has all replicas updated and available.' };
    }
    return { type: CONDITION_TYPES.workloads, status: 'False', reason: 'RolloutInProgress', message: waiting.join('; ') };
  }

  private gatewayEndpoint(tenant: Tenant, namespace: string): string {
    const template = this.deps.config.OPERATOR_GATEWAY_URL_TEMPLATE;
    if (template !== '') return template.replaceAll('{brand}', tenant.spec.brand);
    return `http://${WORKLOAD_NAMES.gateway}.${namespace}.svc:${HTTP_PORT}`;
  }

  private async writeStatus(tenant: Tenant, namespace: string, inputs: ConditionInput[]): Promise<void> {
    const generation = tenant.metadata.generation ?? 0;
    const conditions = mergeConditions(tenant.status?.conditions, inputs, generation, new Date());
    const status = { observedGeneration: generation, conditions, namespace, gatewayEndpoint: this.gatewayEndpoint(tenant, namespace) };
    await this.putStatus(tenant, status);
  }

  /** Writes the status when it differs from the Tenant's current one, and records a Ready transition. */
  private async putStatus(tenant: Tenant, status: TenantStatus): Promise<void> {
    if (statusEqual(tenant.status, status)) return;
    await this.deps.client.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: tenant.metadata.name }, status }, 'status');
    await this.recordTransition(tenant, status.conditions?.find((condition) => condition.type === CONDITION_TYPES.ready));
  }

  private async recordTransition(tenant: Tenant, ready: ConditionInput | undefined): Promise<void> {
    if (ready === undefined) return;
    const previous = tenant.status?.conditions?.find((condition) => condition.type === CONDITION_TYPES.ready);
    if (previous?.status === ready.status && previous.reason === ready.reason) return;
    if (ready.status === 'True') await this.deps.events.record(tenant, 'Normal', 'Ready', ready.message);
    else if (ready.status === 'False' && ready.reason !== 'RolloutInProgress') await this.deps.events.record(tenant, 'Warning', ready.reason, ready.message);
  }

  /**
   * Reports the pause. The other conditions and `status.observedGeneration`
   * keep describing the last generation that was reconciled, because a paused
   * Tenant's newer spec has not been acted on.
   */
  private async reportPaused(tenant: Tenant): Promise<void> {
    const namespace = brandNamespace(tenant.spec.brand);
    const generation = tenant.metadata.generation ?? 0;
    const message = 'Reconciling is paused by spec.paused or the paused annotation; changes and drift wait until it is resumed.';
    const pausedConditions = mergeConditions(
      tenant.status?.conditions,
      [
        { type: CONDITION_TYPES.ready, status: 'Unknown', reason: 'Paused', message },
        { type: CONDITION_TYPES.paused, status: 'True', reason: 'Paused', message },
      ],
      generation,
      new Date(),
    );
    const others = (tenant.status?.conditions ?? []).filter(
      (condition) => condition.type !== CONDITION_TYPES.paused && condition.type !== CONDITION_TYPES.ready,
    );
    const status = {
      ...(tenant.status?.observedGeneration === undefined ? {} : { observedGeneration: tenant.status.observedGeneration }),
      conditions: [pausedConditions[0]!, ...others, pausedConditions[1]!],
      namespace,
      gatewayEndpoint: this.gatewayEndpoint(tenant, namespace),
    };
    await this.putStatus(tenant, status);
  }

  private async finalize(tenant: Tenant): Promise<void> {
    if (!tenant.metadata.finalizers?.includes(FINALIZER)) return;
    const namespace = brandNamespace(tenant.spec.brand);
    const skipCleanup = tenant.metadata.annotations?.[ANNOTATIONS.skipCleanup] === 'true';
    if (tenant.spec.deletionPolicy === 'Delete' && !skipCleanup) {
      const failures: string[] = [];
      for (const part of ['messaging', 'cache', 'database'] as const) {
        const profileName = tenant.spec.infrastructure[part];
        if (this.deps.infrastructure.profile(part, profileName) === undefined) {
          // NOTE: a profile removed from the configuration after the brand was
          // provisioned on it leaves that data behind, and the Event names it.
          await this.deps.events.record(tenant, 'Warning', 'CleanupSkipped', `${part}: no profile "${profileName}" in the operator configuration, so nothing there was cleaned up.`);
          continue;
        }
        try {
          const provisioner = await this.deps.infrastructure.get(part, profileName);
          await provisioner.remove(tenant.spec.brand);
        } catch (error) {
          failures.push(`${part} on profile "${profileName}": ${(error as Error).message}`);
          this.deps.metrics.reconcileErrors.inc({ part });
          this.deps.logger.warn({ tenant: tenant.metadata.name, part, err: error }, 'cleanup failed');
          this.deps.infrastructure.discard(part, profileName);
        }
      }
      if (failures.length > 0) {
        const message = `Cleanup failed and is retried with backoff: ${failures.join('; ')}. To finish the deletion without cleaning up, annotate the Tenant ${ANNOTATIONS.skipCleanup}=true and remove the leftovers by hand.`;
        await this.writeStatus(tenant, namespace, [{ type: CONDITION_TYPES.ready, status: 'False', reason: 'CleanupFailed', message }]);
        throw new ReconcileError(tenant.metadata.name, failures);
      }
      await this.deps.events.record(tenant, 'Normal', 'CleanedUp', 'The brand database, vhost, users and cache keys were deleted.');
    } else if (skipCleanup && tenant.spec.deletionPolicy === 'Delete') {
      await this.deps.events.record(
        tenant,
        'Warning',
        'CleanupSkipped',
        `Deleted without cleanup. Left behind: database ${databaseName(tenant.spec.brand)} and its roles, vhost ${vhostName(tenant.spec.brand)} and its users, Redis users such as ${redisUser(tenant.spec.brand, 'gateway')} and keys under ${brandRedisPrefix(tenant.spec.brand)}.`,
      );
    }
    // The namespace carries an owner reference and the garbage collector would remove it too;
    // deleting it here makes that independent of the collector and immediate.
    await this.deps.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    await this.patchFinalizers(tenant, (tenant.metadata.finalizers ?? []).filter((finalizer) => finalizer !== FINALIZER));
    this.deps.logger.info({ tenant: tenant.metadata.name, deletionPolicy: tenant.spec.deletionPolicy, skipCleanup }, 'tenant finalized');
  }
}

function desiredInfrastructure(part: Part, brand: string, credentials: BrandCredentials): unknown {
  if (part === 'messaging') {
    return {
      wallet: { username: rabbitMqUser(brand, 'wallet'), password: credentials['rabbitmq-wallet-password'] },
      rules: { username: rabbitMqUser(brand, 'rules'), password: credentials['rabbitmq-rules-password'] },
      gateway: { username: rabbitMqUser(brand, 'gateway'), password: credentials['rabbitmq-gateway-password'] },
    };
  }
  if (part === 'cache') {
    return {
      gateway: { username: redisUser(brand, 'gateway'), password: credentials['redis-gateway-password'] },
      rules: { username: redisUser(brand, 'rules'), password: credentials['redis-rules-password'] },
    };
  }
  return {
    wallet: { username: databaseRole(brand, 'wallet'), password: credentials['postgres-wallet-password'] },
    rules: { username: databaseRole(brand, 'rules'), password: credentials['postgres-rules-password'] },
  };
}

/** OPERATOR_RABBITMQ_UNREACHABLE becomes RabbitmqUnreachable, a CamelCase condition reason. */
function reasonOf(code: string): string {
  return code
    .replace(/^OPERATOR_/, '')
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}
