import { PlayerClient, type Transport } from '@croupier/player-client';
import type { BalanceUpdate } from '@croupier/shared/contracts';
import { nowEpochMicros, parseIsoMicros } from '@croupier/shared/contracts';
import { LatencyRecorder } from './latency.js';

export interface FleetPlayer {
  playerId: string;
  gatewayUrl: string;
  getToken: () => Promise<string>;
}

/** Pushes and snapshots one simulated player received over the run. */
interface PlayerObservation {
  client: PlayerClient;
  /** Version of the first snapshot; every later version must arrive as a push. */
  baselineVersion: number | undefined;
  receivedVersions: Set<number>;
  pushesReceived: number;
  outOfOrder: number;
  highestVersion: number;
}

export interface DeliveryReport {
  players: number;
  pushesReceived: number;
  /** Committed versions after each player's baseline snapshot that never arrived as a push. */
  lost: number;
  /** Pushes that arrived after a newer version had already arrived. */
  outOfOrder: number;
  duplicates: number;
  latency: LatencyRecorder;
}

/**
 * Simulated players connected through the player client. Each one records
 * every push it receives, so the run can tell lost, duplicated and
 * out-of-order deliveries apart and measure commit-to-receive latency.
 */
export class PlayerFleet {
  private readonly observations = new Map<string, PlayerObservation>();
  latency = new LatencyRecorder();
  private duplicateCount = 0;

  constructor(private readonly transports: Transport[] = ['websocket', 'polling']) {}

  /**
   * Connects every player, at most `connectRatePerSecond` new connections a
   * second, and resolves when each has its first snapshot, or rejects after the timeout.
   */
  async connect(players: readonly FleetPlayer[], timeoutMs = 60_000, connectRatePerSecond = Number.POSITIVE_INFINITY): Promise<void> {
    const snapshots: Array<Promise<void>> = [];
    const chunkSize = Number.isFinite(connectRatePerSecond) ? Math.max(1, Math.round(connectRatePerSecond / 10)) : players.length;
    for (let start = 0; start < players.length; start += chunkSize) {
      for (const player of players.slice(start, start + chunkSize)) snapshots.push(this.connectOne(player));
      if (start + chunkSize < players.length) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`players did not all receive a snapshot within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(snapshots), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when every player's client has at least the expected version, or after the timeout. */
  async waitForVersions(expectedVersions: ReadonlyMap<string, number>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.hasReached(expectedVersions)) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.hasReached(expectedVersions);
  }

  report(expectedVersions: ReadonlyMap<string, number>): DeliveryReport {
    let lost = 0;
    let pushesReceived = 0;
    let outOfOrder = 0;
    for (const [playerId, expectedVersion] of expectedVersions) {
      const observation = this.observations.get(playerId);
      if (observation === undefined) continue;
      pushesReceived += observation.pushesReceived;
      outOfOrder += observation.outOfOrder;
      for (let version = (observation.baselineVersion ?? 0) + 1; version <= expectedVersion; version += 1) {
        if (!observation.receivedVersions.has(version)) lost += 1;
      }
    }
    return { players: this.observations.size, pushesReceived, lost, outOfOrder, duplicates: this.duplicateCount, latency: this.latency };
  }

  /**
   * Starts a new measurement: clears latency and counters, and moves each
   * player's baseline to the newest version it has, so `report` covers only
   * what is delivered from now on.
   */
  resetMeasurements(): void {
    this.latency = new LatencyRecorder();
    this.duplicateCount = 0;
    for (const observation of this.observations.values()) {
      observation.baselineVersion = observation.highestVersion;
      observation.receivedVersions.clear();
      observation.pushesReceived = 0;
      observation.outOfOrder = 0;
    }
  }

  /** Balance the player's client has applied so far. */
  balanceOf(playerId: string): { balanceVersion: number; cashMinor: number; bonusMinor: number } | undefined {
    return this.observations.get(playerId)?.client.balance;
  }

  baselineVersionOf(playerId: string): number | undefined {
    return this.observations.get(playerId)?.baselineVersion;
  }

  close(): void {
    for (const observation of this.observations.values()) observation.client.close();
    this.observations.clear();
  }

  private hasReached(expectedVersions: ReadonlyMap<string, number>): boolean {
    for (const [playerId, expectedVersion] of expectedVersions) {
      if ((this.observations.get(playerId)?.highestVersion ?? 0) < expectedVersion) return false;
    }
    return true;
  }

  private connectOne(player: FleetPlayer): Promise<void> {
    const client = new PlayerClient({ url: player.gatewayUrl, getToken: player.getToken, transports: this.transports });
    const observation: PlayerObservation = {
      client,
      baselineVersion: undefined,
      receivedVersions: new Set(),
      pushesReceived: 0,
      outOfOrder: 0,
      highestVersion: 0,
    };
    this.observations.set(player.playerId, observation);

    client.on('update', (update) => this.recordPush(observation, update));
    return new Promise((resolve) => {
      client.on('snapshot', (snapshot) => {
        if (observation.baselineVersion === undefined) {
          observation.baselineVersion = snapshot.balanceVersion;
          resolve();
        }
        observation.highestVersion = Math.max(observation.highestVersion, snapshot.balanceVersion);
      });
    });
  }

  private recordPush(observation: PlayerObservation, update: BalanceUpdate): void {
    const receivedMicros = nowEpochMicros();
    observation.pushesReceived += 1;
    if (observation.receivedVersions.has(update.balanceVersion)) {
      this.duplicateCount += 1;
      return;
    }
    observation.receivedVersions.add(update.balanceVersion);
    if (update.balanceVersion < observation.highestVersion && update.balanceVersion > (observation.baselineVersion ?? 0)) {
      observation.outOfOrder += 1;
    }
    observation.highestVersion = Math.max(observation.highestVersion, update.balanceVersion);
    this.latency.recordMicros(receivedMicros - parseIsoMicros(update.committedAt));
  }
}
