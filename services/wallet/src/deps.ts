import type { Logger } from 'pino';
import type { ApiKeyVerifier } from './auth/api-key.js';
import type { CommitListener, LedgerStore } from './ledger/store.js';
import type { WalletMetrics } from './metrics.js';

/** Everything the HTTP layer needs; main.ts wires the real ones, tests may wire their own. */
export interface WalletAppDeps {
  store: LedgerStore;
  commitListener: CommitListener;
  metrics: WalletMetrics;
  logger: Logger;
  /** Provider name to HMAC secret. */
  providerSecrets: ReadonlyMap<string, string>;
  paymentSecret: string;
  apiKeys: ApiKeyVerifier;
  playerTokenSecret: string;
  playerTokenTtlSeconds: number;
  bodyLimitBytes: number;
  /** Wait before a raised or removed responsible-gaming limit applies. */
  limitCoolingOffSeconds: number;
  /** True while the publisher channel is open; /readyz reports it. */
  isBusReady: () => boolean;
}
