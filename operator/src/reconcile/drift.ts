/**
 * Decides whether a live object still contains everything the operator wants.
 * The API server adds defaults and status, so the test is "desired is a
 * subset of live": every field the operator sets must be present with the
 * same value, lists must have the same length, and anything else is ignored.
 * Only when this fails does the reconciler send an apply, which keeps a
 * settled operator from writing at all.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === null || typeof desired !== 'object') {
    if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
    return desired === live;
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((item, index) => isSubset(item, live[index]));
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  const liveRecord = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([key, value]) => isSubset(value, liveRecord[key]));
}
