import type { FastifyPluginAsync } from 'fastify';
import type { WalletAppDeps } from '../deps.js';

/** Liveness, readiness, Prometheus metrics and the OpenAPI document. */
export const operationsRoutes: FastifyPluginAsync<{ deps: WalletAppDeps }> = async (app, { deps }) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    const database = await isDatabaseReachable(deps);
    const bus = deps.isBusReady();
    if (!database) request.log.warn('readiness check: database unreachable');
    return reply.code(database && bus ? 200 : 503).send({ status: database && bus ? 'ready' : 'not ready', database, bus });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};

async function isDatabaseReachable(deps: WalletAppDeps): Promise<boolean> {
  try {
    // The pool's connection timeout and statement timeout bound this check.
    await deps.store.pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
