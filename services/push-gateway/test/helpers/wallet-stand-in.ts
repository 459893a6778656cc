import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BalanceSnapshot } from '@croupier/shared/contracts';

export interface StandInBalance {
  currency: string;
  cashMinor: number;
  bonusMinor: number;
  balanceVersion: number;
}

/**
 * Stand-in for the wallet's balance snapshot API, serving
 * `GET /v1/players/:playerId/balance` from an in-memory map on 127.0.0.1.
 * Tests use it because the gateway must not depend on the wallet's code.
 */
export interface WalletStandIn {
  url: string;
  apiKey: string;
  setBalance(playerId: string, balance: StandInBalance): void;
  /** When set, every request gets a response with this HTTP status instead of a snapshot. */
  failWithStatus(status: number | undefined): void;
  requestCount(playerId: string): number;
  close(): Promise<void>;
}

const BALANCE_PATH = /^\/v1\/players\/([^/]+)\/balance$/;

export async function startWalletStandIn(apiKey = 'wallet-stand-in-key'): Promise<WalletStandIn> {
  const balances = new Map<string, StandInBalance>();
  const requests = new Map<string, number>();
  let failureStatus: number | undefined;

  const server = createServer((request, response) => {
    const match = BALANCE_PATH.exec(request.url ?? '');
    const playerId = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (playerId !== undefined) requests.set(playerId, (requests.get(playerId) ?? 0) + 1);
    respond(request, response, { apiKey, playerId, balance: playerId === undefined ? undefined : balances.get(playerId), failureStatus });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    setBalance: (playerId, balance) => balances.set(playerId, { ...balance }),
    failWithStatus: (status) => {
      failureStatus = status;
    },
    requestCount: (playerId) => requests.get(playerId) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function respond(
  request: IncomingMessage,
  response: ServerResponse,
  state: { apiKey: string; playerId: string | undefined; balance: StandInBalance | undefined; failureStatus: number | undefined },
): void {
  const send = (status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

  if (request.method !== 'GET' || state.playerId === undefined) return send(404, { error: 'not found' });
  if (request.headers['x-api-key'] !== state.apiKey) return send(401, { error: 'invalid api key' });
  if (state.failureStatus !== undefined) return send(state.failureStatus, { error: 'stand-in failure' });
  if (state.balance === undefined) return send(404, { error: `player ${state.playerId} not found` });

  const snapshot: BalanceSnapshot = { playerId: state.playerId, ...state.balance, takenAt: new Date().toISOString() };
  send(200, snapshot);
}
