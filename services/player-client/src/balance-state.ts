import type { BalanceSnapshot, BalanceUpdate } from '@croupier/shared/contracts';

/** A player's balance as the client stores it. */
export interface PlayerBalance {
  playerId: string;
  currency: string;
  cashMinor: number;
  bonusMinor: number;
  balanceVersion: number;
}

export interface BalanceStats {
  snapshotsApplied: number;
  updatesApplied: number;
  /** Snapshots and updates ignored because the client already had that version or a newer one. */
  staleIgnored: number;
  /** Payloads ignored because a field had the wrong type. */
  malformedIgnored: number;
}

export type ApplyResult = 'applied' | 'stale' | 'malformed';

/**
 * The player's balance gated by `balanceVersion`, so nothing older ever
 * replaces what the client stores. Pushes and snapshots race on every reconnect and
 * across replicas, so an update may arrive after a newer snapshot, or twice.
 *
 * A snapshot with the same version as the stored balance is applied, because it
 * describes the same committed state. An update with the same version is a
 * duplicate and counts as stale.
 */
export class BalanceState {
  private currentBalance: PlayerBalance | undefined;
  private readonly counters: BalanceStats = { snapshotsApplied: 0, updatesApplied: 0, staleIgnored: 0, malformedIgnored: 0 };

  get current(): PlayerBalance | undefined {
    return this.currentBalance === undefined ? undefined : { ...this.currentBalance };
  }

  get stats(): BalanceStats {
    return { ...this.counters };
  }

  applySnapshot(snapshot: BalanceSnapshot): ApplyResult {
    return this.apply(snapshot, (version, currentVersion) => version >= currentVersion, 'snapshotsApplied');
  }

  applyUpdate(update: BalanceUpdate): ApplyResult {
    return this.apply(update, (version, currentVersion) => version > currentVersion, 'updatesApplied');
  }

  private apply(
    incoming: BalanceSnapshot | BalanceUpdate,
    isAcceptable: (version: number, currentVersion: number) => boolean,
    counter: 'snapshotsApplied' | 'updatesApplied',
  ): ApplyResult {
    if (!hasBalanceFields(incoming)) {
      this.counters.malformedIgnored += 1;
      return 'malformed';
    }
    if (this.currentBalance !== undefined && !isAcceptable(incoming.balanceVersion, this.currentBalance.balanceVersion)) {
      this.counters.staleIgnored += 1;
      return 'stale';
    }

    this.currentBalance = {
      playerId: incoming.playerId,
      currency: incoming.currency,
      cashMinor: incoming.cashMinor,
      bonusMinor: incoming.bonusMinor,
      balanceVersion: incoming.balanceVersion,
    };
    this.counters[counter] += 1;
    return 'applied';
  }
}

function hasBalanceFields(value: unknown): value is PlayerBalance {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.playerId === 'string' &&
    typeof candidate.currency === 'string' &&
    Number.isSafeInteger(candidate.cashMinor) &&
    Number.isSafeInteger(candidate.bonusMinor) &&
    Number.isSafeInteger(candidate.balanceVersion)
  );
}
