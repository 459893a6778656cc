export interface ReconnectDelayOptions {
  reconnectionDelayMs: number;
  reconnectionDelayMaxMs: number;
  /** 0 to 1; the delay varies by up to this fraction either way, as in socket.io-client. */
  randomizationFactor: number;
}

/**
 * Delay before retry number `attempt` (1-based) after a rejected handshake:
 * doubling from `reconnectionDelayMs` up to `reconnectionDelayMaxMs`, with
 * the same jitter socket.io-client applies to its own reconnections.
 */
export function retryDelayMs(attempt: number, options: ReconnectDelayOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const baseMs = Math.min(options.reconnectionDelayMaxMs, options.reconnectionDelayMs * 2 ** exponent);
  const deviationMs = baseMs * options.randomizationFactor * (random() * 2 - 1);
  return Math.max(0, Math.round(Math.min(options.reconnectionDelayMaxMs, baseMs + deviationMs)));
}

/** Delay before reconnecting after a server notice: the suggested delay plus up to `randomizationFactor` of it. */
export function noticeDelayMs(reconnectAfterMs: number, randomizationFactor: number, random: () => number = Math.random): number {
  const suggestedMs = Math.max(0, reconnectAfterMs);
  return Math.round(suggestedMs + suggestedMs * randomizationFactor * random());
}
