export {
  PlayerClient,
  PlayerClientError,
  type BalanceChange,
  type ConnectionState,
  type ConnectionStateChange,
  type PlayerClientEvents,
  type PlayerClientOptions,
  type Transport,
} from './player-client.js';
export { BalanceState, type ApplyResult, type BalanceStats, type PlayerBalance } from './balance-state.js';
export { noticeDelayMs, retryDelayMs, type ReconnectDelayOptions } from './reconnect-delay.js';
