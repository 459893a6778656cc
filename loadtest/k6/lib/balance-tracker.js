/**
 * Delivery bookkeeping of one player's balance versions, across all of the
 * player's connections in one k6 iteration. Every committed balance change
 * raises `balanceVersion` by one, so versions reveal gaps and reordering.
 *
 *   - A snapshot (on connect, after a reconnect) covers every version up to
 *     its own: earlier changes that never arrived are not lost, because the
 *     client got their result.
 *   - A `balance:changed` above the covered version is out of order when a
 *     newer change already arrived. One at or below it is stale but harmless:
 *     the gateway joins the player's room before it reads the snapshot, so a
 *     change committed just before the read may follow the snapshot.
 *   - Lost: versions above the covered one and below the highest seen that
 *     never arrived. A change whose successors also never arrived cannot be
 *     distinguished from one that was never made, so it is not counted.
 *
 * Memory stays bounded: versions are dropped once the covered version passes them.
 */

export const UpdateOutcome = Object.freeze({
  /** Arrived before the first snapshot, so there is no baseline to order it against yet. */
  BEFORE_BASELINE: 'before baseline',
  /** At or below the covered version. */
  COVERED: 'covered',
  DUPLICATE: 'duplicate',
  IN_ORDER: 'in order',
  OUT_OF_ORDER: 'out of order',
});

export class BalanceTracker {
  constructor() {
    /** Highest version up to which every version was delivered or covered by a snapshot, or undefined until the first snapshot. */
    this.coveredVersion = undefined;
    /** Highest version seen in a snapshot or a change. */
    this.highestVersion = undefined;
    /** Versions above coveredVersion (or all, before the first snapshot) that arrived, as object keys. */
    this.receivedAbove = {};
    this.receivedAboveCount = 0;
  }

  applySnapshot(version) {
    if (this.coveredVersion === undefined || version > this.coveredVersion) {
      this.coveredVersion = version;
      this.dropAtOrBelowCovered();
      this.advanceCovered();
    }
    this.raiseHighest(version);
  }

  /** Records one `balance:changed` version and returns one of UpdateOutcome. */
  applyUpdate(version) {
    if (this.coveredVersion !== undefined && version <= this.coveredVersion) return UpdateOutcome.COVERED;
    if (this.receivedAbove[version] === true) return UpdateOutcome.DUPLICATE;

    // Kept even before the first snapshot: the gateway may push a change while it
    // still reads the snapshot, and the snapshot may then be older than that change.
    let outcome = UpdateOutcome.BEFORE_BASELINE;
    if (this.coveredVersion !== undefined) outcome = version < this.highestVersion ? UpdateOutcome.OUT_OF_ORDER : UpdateOutcome.IN_ORDER;
    this.receivedAbove[version] = true;
    this.receivedAboveCount += 1;
    this.raiseHighest(version);
    if (this.coveredVersion !== undefined) this.advanceCovered();
    return outcome;
  }

  /** Number of versions between the covered and the highest version that have not arrived. */
  countMissing() {
    if (this.coveredVersion === undefined) return 0;
    return this.highestVersion - this.coveredVersion - this.receivedAboveCount;
  }

  raiseHighest(version) {
    if (this.highestVersion === undefined || version > this.highestVersion) this.highestVersion = version;
  }

  dropAtOrBelowCovered() {
    for (const key of Object.keys(this.receivedAbove)) {
      if (Number(key) <= this.coveredVersion) {
        delete this.receivedAbove[key];
        this.receivedAboveCount -= 1;
      }
    }
  }

  // Moves coveredVersion past the versions that arrived right after it.
  advanceCovered() {
    while (this.receivedAbove[this.coveredVersion + 1] === true) {
      delete this.receivedAbove[this.coveredVersion + 1];
      this.receivedAboveCount -= 1;
      this.coveredVersion += 1;
    }
  }
}
