/**
 * One difference between a brand's desired and actual state on a shared
 * cluster, with the call that removes it. Provisioners plan a list of these:
 * `observe` reports their `drift`, `ensure` applies them.
 */
export interface Repair {
  drift: string;
  change: string;
  apply: () => Promise<void>;
}

/** Applies the repairs in order and returns their changes. */
export async function applyRepairs(repairs: readonly Repair[]): Promise<string[]> {
  for (const repair of repairs) await repair.apply();
  return repairs.map((repair) => repair.change);
}
