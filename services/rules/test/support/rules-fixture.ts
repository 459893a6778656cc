/** Rule file of the engine tests. Each rule checks its own currency, so the tests of one rule do not fire another. */
export const TEST_RULES = `
version: test-1
rules:
  - id: deposits-24h
    kind: windowed_sum
    measure: deposits
    window: 24h
    thresholds: { EUR: { sumMinor: 100000 }, GBP: { sumMinor: 50000 } }
    severity: medium
    actions: [prompt, flag]
    message: You have deposited 1,000 EUR in the last 24 hours.
  - id: deposit-count-sek
    kind: windowed_count
    measure: deposits
    window: 1h
    cooldown: 2h
    thresholds: { SEK: { count: 3 } }
    severity: low
    actions: [prompt]
    message: You have made several deposits in the last hour.
  - id: net-loss-nok
    kind: windowed_sum
    measure: net_loss
    window: 24h
    thresholds: { NOK: { sumMinor: 50000 } }
    severity: high
    actions: [prompt, email]
    message: Your losses today are high.
  - id: structuring-usd
    kind: structuring
    measure: deposits
    window: 24h
    thresholds: { USD: { reportingMinor: 1000000, bandMinor: 100000, count: 3 } }
    severity: high
    actions: [flag, email]
    message: Deposits just under the reporting threshold.
  - id: bonus-escalation
    kind: bonus_escalation
    window: 7d
    thresholds: { EUR: { levelsMinor: [5000, 10000, 25000], levelsCrossed: 3 } }
    severity: medium
    actions: [flag]
    message: Bonus credits are escalating quickly.
  - id: big-deposit-chf
    kind: single_transaction
    measure: deposits
    thresholds: { CHF: { amountMinor: 500000 } }
    severity: high
    actions: [email]
    message: A single large deposit.
  - id: reality-check
    kind: session_length
    idleGap: 30m
    thresholds: { "*": { sessionSeconds: 3600 } }
    severity: low
    actions: [prompt]
    message: You have been playing for an hour.
`;

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Event-time origin of the tests; far from the wall clock, since windows follow occurredAt only. */
export const T0 = Date.parse('2025-03-01T00:00:00.000Z');
export const at = (offsetMs: number): Date => new Date(T0 + offsetMs);
