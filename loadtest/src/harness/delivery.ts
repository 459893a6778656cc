/** Delivery counts of one player, or of many once added up. */
export interface DeliveryCounts {
  pushes: number;
  /** Committed versions after the first snapshot that neither a push nor a later snapshot delivered. */
  lost: number;
  /** Pushes older than a push the player had already received. */
  outOfOrder: number;
  /** Pushes of a version the player had already received. */
  duplicates: number;
  /** Drops (by the storm or the server) followed by a snapshot at least as new as what the player had. */
  freshResyncs: number;
  /** Drops followed by a snapshot older than what the player had already seen. */
  staleResyncs: number;
  /** Drops not followed by any snapshot before the run ended. */
  missingResyncs: number;
}

export function emptyCounts(): DeliveryCounts {
  return { pushes: 0, lost: 0, outOfOrder: 0, duplicates: 0, freshResyncs: 0, staleResyncs: 0, missingResyncs: 0 };
}

export function addCounts(total: DeliveryCounts, more: DeliveryCounts): void {
  for (const key of Object.keys(total) as Array<keyof DeliveryCounts>) total[key] += more[key];
}

/**
 * Record of the pushes and snapshots one player received, so a run can tell lost, duplicated and
 * out-of-order pushes apart, and check that each reconnect brings a fresh
 * snapshot.
 *
 * A snapshot after a drop replaces the pushes the player could not receive
 * while away, so versions above the newest one seen before the drop, up
 * to the snapshot's, count as delivered. Versions at or below that newest one
 * had to arrive as pushes while the player was connected.
 */
export class PlayerDelivery {
  /** Version of the first snapshot; later versions must be delivered. */
  baselineVersion: number | undefined;
  highestVersion = 0;
  private highestPushVersion = 0;
  private readonly pushedVersions = new Set<number>();
  /** Version ranges (low exclusive, high inclusive) that a resync snapshot delivered. */
  private readonly resyncedRanges: Array<[number, number]> = [];
  /** Newest version seen when the player dropped, until the next snapshot. */
  private droppedAtVersion: number | undefined;
  private readonly counts = emptyCounts();

  /** Records a snapshot; returns true for the first one. */
  recordSnapshot(version: number): boolean {
    if (this.baselineVersion === undefined) {
      this.baselineVersion = version;
      this.highestVersion = version;
      return true;
    }
    if (this.droppedAtVersion !== undefined) {
      if (version >= this.droppedAtVersion) this.counts.freshResyncs += 1;
      else this.counts.staleResyncs += 1;
      this.resyncedRanges.push([this.droppedAtVersion, version]);
      this.droppedAtVersion = undefined;
    }
    this.highestVersion = Math.max(this.highestVersion, version);
    return false;
  }

  /** Records a push; returns false for a duplicate, whose latency must not count twice. */
  recordPush(version: number): boolean {
    this.counts.pushes += 1;
    if (this.pushedVersions.has(version)) {
      this.counts.duplicates += 1;
      return false;
    }
    this.pushedVersions.add(version);
    if (version < this.highestPushVersion) this.counts.outOfOrder += 1;
    this.highestPushVersion = Math.max(this.highestPushVersion, version);
    this.highestVersion = Math.max(this.highestVersion, version);
    return true;
  }

  /** Records that the connection dropped; the next snapshot must be at least as new as what was seen. */
  recordDrop(): void {
    // A second drop before any snapshot keeps the first mark: nothing newer was seen in between.
    this.droppedAtVersion ??= this.highestVersion;
  }

  /** Returns the counts for the run, given the newest version the wallet committed for this player. */
  finish(committedVersion: number): DeliveryCounts {
    const counts = { ...this.counts };
    if (this.droppedAtVersion !== undefined) counts.missingResyncs += 1;
    const baseline = this.baselineVersion ?? committedVersion;
    for (let version = baseline + 1; version <= committedVersion; version += 1) {
      if (this.pushedVersions.has(version)) continue;
      if (this.resyncedRanges.some(([low, high]) => version > low && version <= high)) continue;
      counts.lost += 1;
    }
    return counts;
  }
}
