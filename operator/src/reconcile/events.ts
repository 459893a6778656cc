import type { Logger } from 'pino';
import { API_VERSION, KIND, type Tenant } from '../api/tenant.js';
import type { KubeClient } from '../kube/client.js';
import { collectionPath } from '../kube/resources.js';

/**
 * Records Kubernetes Events on a Tenant, shown by `kubectl describe tenant`.
 * Events of a cluster-scoped object live in the `default` namespace. The
 * reconciler records only transitions, never one Event per reconcile.
 */
export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly identity: string,
    private readonly logger: Logger,
  ) {}

  async record(tenant: Tenant, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${tenant.metadata.name}.`, namespace: 'default' },
      involvedObject: { apiVersion: API_VERSION, kind: KIND, name: tenant.metadata.name, uid: tenant.metadata.uid },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component, host: this.identity },
      reportingComponent: this.component,
      reportingInstance: this.identity,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.create(collectionPath('Event', 'default'), event as never);
    } catch (error) {
      // An Event is a courtesy to the reader; failing to record one must not fail the reconcile.
      this.logger.warn({ err: error, tenant: tenant.metadata.name, reason }, 'could not record event');
    }
  }
}
