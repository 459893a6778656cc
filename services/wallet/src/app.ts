import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { WalletAppDeps } from './deps.js';
import { installErrorHandlers } from './http/error-handler.js';
import { installJsonBodyParser } from './http/raw-body.js';
import { childTraceparent } from './http/traceparent.js';
import { operationsRoutes } from './routes/operations.js';
import { paymentRoutes } from './routes/payments.js';
import { playerRoutes } from './routes/players.js';
import { providerWalletRoutes } from './routes/provider-wallet.js';
import { ErrorResponse } from './routes/schemas.js';

export type { WalletAppDeps } from './deps.js';
export { loadWalletConfig, type WalletConfig } from './config.js';
export { signBody } from './auth/hmac.js';

/**
 * Builds the wallet HTTP application without listening, so tests can call
 * `app.inject`. main.ts adds the process concerns: config, migrations, the
 * bus, the outbox relay, listen and graceful stop.
 */
export async function buildWalletApp(deps: WalletAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Two log lines per request would cost more than the request at the target rate; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Keep unknown fields as errors and never turn a JSON number into the string an amount must be.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installJsonBodyParser(app);
  installErrorHandlers(app, deps.bodyLimitBytes);
  app.addSchema(ErrorResponse);

  app.addHook('onRequest', async (request) => {
    request.traceparent = childTraceparent(request.headers.traceparent);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequestDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(swagger, { openapi: openApiDocument() });
  await app.register(operationsRoutes, { deps });
  await app.register(providerWalletRoutes, { prefix: '/v1/providers/:provider/wallet', deps });
  await app.register(paymentRoutes, { prefix: '/v1/payments', deps });
  await app.register(playerRoutes, { prefix: '/v1/players', deps });
  return app;
}

function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Croupier wallet',
      version: '1',
      description:
        'Seamless wallet for game providers, payments, bonus credits and players of one brand. ' +
        'Amounts are decimal strings in major units; errors are {"error": {"code", "message", ...details}}.',
    },
    components: {
      securitySchemes: {
        providerSignature: {
          type: 'apiKey' as const,
          in: 'header',
          name: 'X-Croupier-Signature',
          description: 'sha256=<hex HMAC-SHA256 of the raw request body with the provider secret>',
        },
        paymentSignature: {
          type: 'apiKey' as const,
          in: 'header',
          name: 'X-Croupier-Signature',
          description: 'sha256=<hex HMAC-SHA256 of the raw request body with the payment-provider secret>',
        },
        apiKey: { type: 'apiKey' as const, in: 'header', name: 'X-Api-Key' },
      },
    },
  };
}
