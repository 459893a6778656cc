import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RouteHandler } from './backoffice/http.js';

export interface ReadinessCheck {
  isDraining: () => boolean;
  isRedisReady: () => boolean;
  isBusConnected: () => boolean;
}

/**
 * Serves the probes and metrics on the gateway's HTTP server, and the back
 * office page when `backoffice` is given. socket.io handles `/socket.io/`
 * itself and passes every other request here.
 */
export function createHttpRoutes(readiness: ReadinessCheck, registry: Registry, logger: Logger, backoffice?: RouteHandler) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? '/').split('?', 1)[0];

    if (backoffice?.(request, response) === true) return;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJson(response, 405, { error: 'method not allowed; use GET' });
    } else if (path === '/healthz') {
      sendJson(response, 200, { status: 'ok' });
    } else if (path === '/readyz') {
      sendReadiness(response, readiness);
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'collecting metrics failed');
          sendJson(response, 500, { error: 'collecting metrics failed' });
        },
      );
    } else {
      sendJson(response, 404, { error: `no route for ${path}` });
    }
  };
}

function sendReadiness(response: ServerResponse, readiness: ReadinessCheck): void {
  const checks = {
    draining: readiness.isDraining(),
    redis: readiness.isRedisReady(),
    bus: readiness.isBusConnected(),
  };
  const isReady = !checks.draining && checks.redis && checks.bus;
  sendJson(response, isReady ? 200 : 503, { status: isReady ? 'ready' : 'not ready', ...checks });
}

function sendJson(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
