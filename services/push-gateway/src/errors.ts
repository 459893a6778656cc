import { defineErrors } from '@croupier/shared';

/**
 * Errors of the push gateway. The handshake codes that clients map are fixed
 * by `HandshakeErrorCode` in the shared socket contract; these cover the
 * gateway's own calls and the `balance:refresh` acknowledgement.
 */
export const gatewayErrors = defineErrors({
  walletUnavailable: {
    code: 'GATEWAY_ERR_WALLET_UNAVAILABLE',
    statusCode: 503,
    message: (playerId: string, attempts: number, cause: string) =>
      `balance snapshot of player ${playerId} failed after ${attempts} attempts: ${cause}`,
  },
  walletRejected: {
    code: 'GATEWAY_ERR_WALLET_REJECTED',
    statusCode: 502,
    message: (playerId: string, status: number) =>
      `wallet rejected the balance request of player ${playerId} with HTTP ${status}; check WALLET_API_KEY and the player id`,
  },
  walletResponseInvalid: {
    code: 'GATEWAY_ERR_WALLET_RESPONSE_INVALID',
    statusCode: 502,
    message: (playerId: string, problem: string) => `wallet returned an invalid response for player ${playerId}: ${problem}`,
  },
  refreshInProgress: {
    code: 'GATEWAY_ERR_REFRESH_IN_PROGRESS',
    statusCode: 429,
    message: () => 'a balance refresh is already running on this connection; wait for its acknowledgement',
  },
  gatewayClosing: {
    code: 'GATEWAY_ERR_CLOSING',
    statusCode: 503,
    message: () => 'the gateway is shutting down',
  },
});
