import type { Condition, Tenant, TenantStatus } from '../api/tenant.js';

/**
 * Conditions follow the Kubernetes conventions: one entry per type,
 * `lastTransitionTime` moves only when `status` flips, and a status is
 * written only when something in it differs. Together these keep the
 * operator from writing status in a loop: its own status write triggers a
 * watch event and a reconcile, which then finds nothing to change.
 */

export const CONDITION_TYPES = {
  ready: 'Ready',
  messaging: 'MessagingReady',
  cache: 'CacheReady',
  database: 'DatabaseReady',
  workloads: 'WorkloadsAvailable',
  paused: 'Paused',
} as const;

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
}

export function mergeConditions(existing: Condition[] | undefined, inputs: ConditionInput[], generation: number, now: Date): Condition[] {
  const byType = new Map((existing ?? []).map((condition) => [condition.type, condition]));
  return inputs.map((input) => {
    const previous = byType.get(input.type);
    const lastTransitionTime =
      previous !== undefined && previous.status === input.status ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...input, message: input.message.slice(0, 4096), lastTransitionTime, observedGeneration: generation };
  });
}

/** True when writing `next` would change nothing a reader can see. */
export function statusEqual(current: TenantStatus | undefined, next: TenantStatus): boolean {
  if (current === undefined) return false;
  if (current.observedGeneration !== next.observedGeneration) return false;
  if (current.namespace !== next.namespace || current.gatewayEndpoint !== next.gatewayEndpoint) return false;
  const a = current.conditions ?? [];
  const b = next.conditions ?? [];
  if (a.length !== b.length) return false;
  return b.every((condition) => {
    const other = a.find((candidate) => candidate.type === condition.type);
    return (
      other !== undefined &&
      other.status === condition.status &&
      other.reason === condition.reason &&
      other.message === condition.message &&
      other.observedGeneration === condition.observedGeneration &&
      other.lastTransitionTime === condition.lastTransitionTime
    );
  });
}

export function findCondition(tenant: Tenant, type: string): Condition | undefined {
  return tenant.status?.conditions?.find((condition) => condition.type === type);
}

/** Ready summarises the parts: true only when every part is true. */
export function readyCondition(parts: ConditionInput[]): ConditionInput {
  const failing = parts.filter((part) => part.status !== 'True');
  if (failing.length === 0) return { type: CONDITION_TYPES.ready, status: 'True', reason: 'Provisioned', message: 'The brand is provisioned and its workloads are available.' };
  const first = failing[0]!;
  const status = failing.some((part) => part.status === 'False') ? 'False' : 'Unknown';
  return {
    type: CONDITION_TYPES.ready,
    status,
    reason: first.reason,
    message: failing.map((part) => `${part.type}: ${part.message}`).join('; '),
  };
}
