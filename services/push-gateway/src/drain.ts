import { sleep } from '@croupier/shared';
import type { Logger } from 'pino';
import { closeWithNotice, drawReconnectAfterMs } from './closing.js';
import type { ClosingConfig } from './config.js';
import type { GatewayMetrics } from './metrics.js';
import type { PlayerNamespace, PlayerSocket } from './socket-types.js';

/** Shortest pause between two drain batches, so a large replica does not need one timer per socket. */
const BATCH_INTERVAL_MS_MIN = 10;

export interface DrainBatchPlan {
  batchSize: number;
  intervalMs: number;
}

/** Splits `socketCount` disconnects into equal batches spread over `periodMs`. */
export function planDrainBatches(socketCount: number, periodMs: number): DrainBatchPlan {
  if (socketCount === 0) return { batchSize: 0, intervalMs: 0 };

  const batchCount = Math.max(1, Math.min(socketCount, Math.floor(periodMs / BATCH_INTERVAL_MS_MIN)));
  return { batchSize: Math.ceil(socketCount / batchCount), intervalMs: periodMs / batchCount };
}

/**
 * Tells every connected player to reconnect elsewhere and disconnects them,
 * spread over `periodMs` so the other replicas see a ramp rather than a
 * spike. Sockets that connected while the drain ran are closed at the end.
 * Resolves when every connection has closed, at most `closing.graceMs` after
 * the last batch.
 */
export async function drainPlayers(
  namespace: PlayerNamespace,
  periodMs: number,
  closing: ClosingConfig,
  metrics: GatewayMetrics,
  logger: Logger,
): Promise<void> {
  const sockets = [...namespace.sockets.values()];
  const plan = planDrainBatches(sockets.length, periodMs);
  logger.info({ sockets: sockets.length, ...plan }, 'draining player connections');

  const closings: Promise<void>[] = [];
  for (let start = 0; start < sockets.length; start += plan.batchSize) {
    if (start > 0) await sleep(plan.intervalMs);
    for (const socket of sockets.slice(start, start + plan.batchSize)) {
      closings.push(sendAway(socket, closing, metrics));
    }
  }

  const planned = new Set(sockets);
  const lateSockets = [...namespace.sockets.values()].filter((socket) => !planned.has(socket));
  closings.push(...lateSockets.map((socket) => sendAway(socket, closing, metrics)));

  await Promise.all(closings);
  logger.info({ sockets: sockets.length + lateSockets.length }, 'player connections drained');
}

function sendAway(socket: PlayerSocket, closing: ClosingConfig, metrics: GatewayMetrics): Promise<void> {
  metrics.drainDisconnects.inc();
  return closeWithNotice(
    socket,
    {
      code: 'GATEWAY_DRAINING',
      message: 'this gateway replica is shutting down; reconnect to reach another one',
      reconnectAfterMs: drawReconnectAfterMs(closing),
    },
    closing.graceMs,
  );
}
