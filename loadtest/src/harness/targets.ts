import http from 'node:http';
import path from 'node:path';
import { findFreePort, type InfraSettings } from '@croupier/shared/testing';
import type { ComponentProcesses } from '../bench/cpu-usage.js';
import { fundPlayers, placeBet } from '../bench/scenarios.js';
import { BrandStack, clearRedisPrefix, removeBrandData } from '../stack/brand-stack.js';
import { ServiceProcess } from '../stack/service-process.js';
import type { TargetKind } from './options.js';

/** Outcome of one balance change the driver asked for. */
export interface Commit {
  ok: boolean;
  /** Version the change committed; players must receive it. */
  balanceVersion?: number;
}

/** Target of a run: the URLs players connect to and the call the driver makes to change a balance. */
export interface LoadTarget {
  kind: TargetKind;
  /** Base URLs of the replicas; players are spread over them. */
  urls: string[];
  /** Creates the players and returns each one's handshake token. */
  preparePlayers(playerIds: readonly string[]): Promise<string[]>;
  commit(playerId: string): Promise<Commit>;
  /** The target's own processes, for CPU accounting; the shared servers are found by name. */
  processes: ComponentProcesses;
  stop(): Promise<void>;
}

export interface TargetSettings {
  infra: InfraSettings;
  gatewayReplicas: number;
  logDirectory: string;
}

export function startTarget(kind: TargetKind, settings: TargetSettings): Promise<LoadTarget> {
  return kind === 'platform' ? startPlatform(settings) : startBare(settings);
}

/** Starts the real balance path: wallet, outbox, RabbitMQ, push gateways with the Redis adapter. */
async function startPlatform(settings: TargetSettings): Promise<LoadTarget> {
  const stack = await BrandStack.start({
    brand: 'loadtest-platform',
    infra: settings.infra,
    gatewayReplicas: settings.gatewayReplicas,
    logDirectory: settings.logDirectory,
  });
  return {
    kind: 'platform',
    urls: stack.gatewayUrls,
    async preparePlayers(playerIds) {
      await fundPlayers(stack.walletApi, playerIds, '1000.00');
      return Promise.all(playerIds.map((playerId) => stack.signToken(playerId)));
    },
    async commit(playerId) {
      const bet = await placeBet(stack.walletApi, playerId);
      return { ok: bet.ok, balanceVersion: bet.balanceVersion };
    },
    processes: { nodeProcesses: { wallet: [stack.wallet.pid], 'push gateways': stack.gateways.map((gateway) => gateway.pid) } },
    async stop() {
      await stack.stop();
      await removeBrandData(settings.infra, stack.brand);
    },
  };
}

const BARE_KEY_PREFIX = 'croupier:loadtest-bare:';

/** Starts bare socket.io replicas that share the Redis adapter (see bare-server.ts). */
async function startBare(settings: TargetSettings): Promise<LoadTarget> {
  await clearRedisPrefix(settings.infra.redisUrl, BARE_KEY_PREFIX);
  const ports = await Promise.all(Array.from({ length: settings.gatewayReplicas }, () => findFreePort()));
  const replicas = ports.map(
    (port, index) =>
      new ServiceProcess({
        name: `loadtest-bare-${index + 1}`,
        entry: path.join('loadtest', 'src', 'harness', 'bare-server.ts'),
        logDirectory: settings.logDirectory,
        readinessUrl: `http://127.0.0.1:${port}/readyz`,
        env: { PORT: String(port), REDIS_URL: settings.infra.redisUrl, BARE_KEY_PREFIX },
      }),
  );
  try {
    await Promise.all(replicas.map((replica) => replica.start()));
  } catch (error) {
    await Promise.all(replicas.map((replica) => replica.stop()));
    throw error;
  }
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  let next = 0;
  return {
    kind: 'bare',
    urls,
    // The bare server takes the token as the player id; it checks nothing.
    preparePlayers: async (playerIds) => [...playerIds],
    commit(playerId) {
      const url = urls[next % urls.length] as string;
      next += 1;
      return postEmit(agent, url, playerId);
    },
    processes: { nodeProcesses: { 'bare socket.io servers': replicas.map((replica) => replica.pid) } },
    async stop() {
      agent.destroy();
      await Promise.all(replicas.map((replica) => replica.stop()));
      await clearRedisPrefix(settings.infra.redisUrl, BARE_KEY_PREFIX);
    },
  };
}

function postEmit(agent: http.Agent, baseUrl: string, playerId: string): Promise<Commit> {
  const payload = JSON.stringify({ playerId });
  return new Promise((resolve) => {
    const request = http.request(
      `${baseUrl}/emit`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 30_000 },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => {
          if (response.statusCode !== 200) return resolve({ ok: false });
          resolve({ ok: true, balanceVersion: (JSON.parse(text) as { balanceVersion: number }).balanceVersion });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('POST /emit timed out')));
    request.on('error', () => resolve({ ok: false }));
    request.end(payload);
  });
}
