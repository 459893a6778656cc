import type { Logger } from 'pino';
import type { KubeClient, KubeObject } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { collectionPath } from '../../src/kube/resources.js';
import { MANAGED_BY } from '../../src/reconcile/desired.js';

/**
 * Stands in for the Deployment controller and kubelets that the test API
 * server lacks: watches the Deployments the operator writes and marks each
 * one rolled out and available as soon as it has a new generation. Runs
 * until `signal` aborts.
 */
export function startDeploymentStandIn(client: KubeClient, signal: AbortSignal, logger: Logger): void {
  const deployments = new Informer<KubeObject>(
    client,
    { name: 'deployments', collectionPath: collectionPath('Deployment'), labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}` },
    logger,
  );
  deployments.onEvent((event, object) => {
    if (event === 'deleted') return;
    const status = (object.status ?? {}) as { observedGeneration?: number };
    if (status.observedGeneration === object.metadata.generation) return;
    const replicas = (object.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    void client
      .mergePatch(
        { apiVersion: 'apps/v1', kind: 'Deployment', namespace: object.metadata.namespace, name: object.metadata.name },
        { status: { observedGeneration: object.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } },
        'status',
      )
      .catch((error: unknown) => logger.warn({ err: error, deployment: object.metadata.name }, 'could not mark the Deployment available'));
  });
  void deployments.run(signal);
}
