import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { InfraSettings } from '@croupier/shared/testing';
import type { LatencySummary } from '../latency.js';
import { PlayerFleet } from '../player-fleet.js';
import { forEachConcurrently } from '../session.js';
import { BrandStack, DEMO_PROVIDER, removeBrandData } from '../stack/brand-stack.js';
import type { WalletApi } from '../wallet-api.js';
import { readCpuSeconds, subtractCpuSeconds, type CpuSeconds } from './cpu-usage.js';
import { runOpenLoop } from './open-loop.js';

export interface ThroughputStep {
  ratePerSecondTarget: number;
  achievedRatePerSecond: number;
  sent: number;
  failed: number;
  unanswered: number;
  latency: LatencySummary;
  /** CPU seconds each component used during the step. */
  cpuSeconds: CpuSeconds;
  wallSeconds: number;
}

export interface PushLatencyRun {
  ratePerSecondTarget: number;
  walletAchievedRatePerSecond: number;
  walletFailed: number;
  pushesReceived: number;
  lost: number;
  outOfOrder: number;
  commitToReceive: LatencySummary;
  negativeLatencySamples: number;
}

export interface PushLatencyResult {
  players: number;
  gatewayReplicas: number;
  durationSeconds: number;
  runs: PushLatencyRun[];
  gatewayIdleBytesPerConnection: number[];
}

export interface BenchSettings {
  infra: InfraSettings;
  logDirectory: string;
  log: (message: string) => void;
}

/** Creates players and funds each with a deposit, so bets in the run succeed. */
export async function fundPlayers(api: WalletApi, playerIds: readonly string[], amount: string): Promise<void> {
  await forEachConcurrently(playerIds, 64, async (playerId) => {
    const created = await api.createPlayer(playerId, 'EUR');
    if (created.statusCode !== 201) throw new Error(`creating ${playerId} failed with HTTP ${created.statusCode}`);
    const deposit = await api.depositCompleted(playerId, `fund-${randomUUID()}`, amount, 'EUR');
    if (deposit.statusCode !== 200) throw new Error(`funding ${playerId} failed with HTTP ${deposit.statusCode}`);
  });
}

function placeRandomBet(api: WalletApi, playerIds: readonly string[]): Promise<{ playerId: string; balanceVersion?: number; ok: boolean }> {
  return placeBet(api, playerIds[Math.floor(Math.random() * playerIds.length)] as string);
}

/** Sends one bet of 0.10 EUR as the demo provider; `balanceVersion` is the version the bet committed. */
export function placeBet(api: WalletApi, playerId: string): Promise<{ playerId: string; balanceVersion?: number; ok: boolean }> {
  const call = { provider: DEMO_PROVIDER, playerId, transactionId: `bet-${randomUUID()}`, roundId: `round-${randomUUID()}`, gameId: 'bench' };
  return api.bet(call, '0.10', 'EUR').then((reply) => ({ playerId, balanceVersion: reply.body.balanceVersion, ok: reply.statusCode === 200 }));
}

/** Sends bet callbacks at fixed arrival rates against one wallet, with its gateways consuming but no players connected. */
export async function measureWalletThroughput(settings: BenchSettings, rates: readonly number[], stepSeconds: number): Promise<ThroughputStep[]> {
  const stack = await BrandStack.start({ brand: 'bench-throughput', infra: settings.infra, gatewayReplicas: 2, logDirectory: settings.logDirectory });
  try {
    const playerIds = Array.from({ length: 1_000 }, (_, index) => `tp-${index}`);
    await fundPlayers(stack.walletApi, playerIds, '100000.00');
    settings.log(`throughput: ${playerIds.length} players funded`);

    const processes = { nodeProcesses: { wallet: [stack.wallet.pid], 'push gateways': stack.gateways.map((gateway) => gateway.pid) } };
    const steps: ThroughputStep[] = [];
    for (const rate of rates) {
      const cpuBefore = readCpuSeconds(processes);
      const startedMs = Date.now();
      // A long grace period lets an overloaded step's queued calls finish and count in it, not in the next step.
      const result = await runOpenLoop(rate, stepSeconds, async () => (await placeRandomBet(stack.walletApi, playerIds)).ok, 60_000);
      const step: ThroughputStep = {
        ratePerSecondTarget: rate,
        achievedRatePerSecond: Math.round(result.achievedRatePerSecond),
        sent: result.sent,
        failed: result.failed,
        unanswered: result.unanswered,
        latency: result.latency.summary(),
        cpuSeconds: subtractCpuSeconds(readCpuSeconds(processes), cpuBefore),
        wallSeconds: (Date.now() - startedMs) / 1000,
      };
      settings.log(`throughput: ${rate}/s target, ${step.achievedRatePerSecond}/s achieved, p99 ${step.latency.p99Ms} ms, failed ${step.failed}`);
      steps.push(step);
      // Let the backlog of an overloaded step clear before the next one starts.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    }
    return steps;
  } finally {
    await stack.stop();
    await removeBrandData(settings.infra, stack.brand);
  }
}

function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/**
 * Connects `players` players spread over the gateway replicas, measures the
 * gateways' memory per idle connection, then drives balance changes at a
 * fixed rate and records commit-to-receive latency on the players' side.
 */
export async function measurePushLatency(
  settings: BenchSettings,
  options: { players: number; gatewayReplicas: number; ratesPerSecond: readonly number[]; durationSeconds: number },
): Promise<PushLatencyResult> {
  const stack = await BrandStack.start({
    brand: 'bench-push',
    infra: settings.infra,
    gatewayReplicas: options.gatewayReplicas,
    logDirectory: settings.logDirectory,
  });
  const fleet = new PlayerFleet(['websocket']);
  try {
    const playerIds = Array.from({ length: options.players }, (_, index) => `push-${index}`);
    await fundPlayers(stack.walletApi, playerIds, '1000.00');
    settings.log(`push latency: ${playerIds.length} players funded`);

    const rssBefore = stack.gateways.map((gateway) => residentBytes(gateway.pid));
    await fleet.connect(
      playerIds.map((playerId, index) => ({
        playerId,
        gatewayUrl: stack.gatewayUrls[index % stack.gatewayUrls.length] as string,
        getToken: () => stack.signToken(playerId),
      })),
      180_000,
      1_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const connectionsPerReplica = options.players / options.gatewayReplicas;
    const bytesPerConnection = stack.gateways.map((gateway, index) =>
      Math.round((residentBytes(gateway.pid) - (rssBefore[index] ?? 0)) / connectionsPerReplica),
    );
    settings.log(`push latency: ${options.players} players connected; gateway bytes per idle connection ${bytesPerConnection.join(', ')}`);

    const runs: PushLatencyRun[] = [];
    for (const rate of options.ratesPerSecond) {
      runs.push(await drivePushes(stack, fleet, playerIds, rate, options.durationSeconds));
      settings.log(`push latency at ${rate}/s: ${runs.at(-1)?.pushesReceived} pushes, ${runs.at(-1)?.lost} lost, p99 ${runs.at(-1)?.commitToReceive.p99Ms} ms`);
    }

    return {
      players: options.players,
      gatewayReplicas: options.gatewayReplicas,
      durationSeconds: options.durationSeconds,
      runs,
      gatewayIdleBytesPerConnection: bytesPerConnection,
    };
  } finally {
    fleet.close();
    await stack.stop();
    await removeBrandData(settings.infra, stack.brand);
  }
}

/** Drives bets at a fixed rate and measures, on the players' side, every push they cause. */
async function drivePushes(
  stack: BrandStack,
  fleet: PlayerFleet,
  playerIds: readonly string[],
  ratePerSecond: number,
  durationSeconds: number,
): Promise<PushLatencyRun> {
  fleet.resetMeasurements();
  const finalVersions = new Map<string, number>();
  const result = await runOpenLoop(ratePerSecond, durationSeconds, async () => {
    const bet = await placeRandomBet(stack.walletApi, playerIds);
    if (bet.ok && bet.balanceVersion !== undefined) {
      finalVersions.set(bet.playerId, Math.max(finalVersions.get(bet.playerId) ?? 0, bet.balanceVersion));
    }
    return bet.ok;
  });
  await fleet.waitForVersions(finalVersions, 30_000);
  const delivery = fleet.report(finalVersions);
  return {
    ratePerSecondTarget: ratePerSecond,
    walletAchievedRatePerSecond: Math.round(result.achievedRatePerSecond),
    walletFailed: result.failed + result.unanswered,
    pushesReceived: delivery.pushesReceived,
    lost: delivery.lost,
    outOfOrder: delivery.outOfOrder,
    commitToReceive: delivery.latency.summary(),
    negativeLatencySamples: delivery.latency.negativeSamples,
  };
}
