import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { formatMinor } from '@croupier/shared';
import { SIGNATURE_HEADER, verifySignature } from '../auth/hmac.js';
import type { WalletAppDeps } from '../deps.js';
import { walletError } from '../errors.js';
import { rejectMalformedBody } from '../http/raw-body.js';
import { creditWin, endRound, placeBet, rollBackBet } from '../ledger/game.js';
import { readBalance } from '../ledger/players.js';
import type { LedgerResponse } from '../ledger/store.js';
import {
  Currency,
  DecimalAmount,
  DecimalBalance,
  errorResponses,
  ExternalId,
  PlayerId,
  ProviderName,
  ProviderTransactionResponse,
} from './schemas.js';

const Params = Type.Object({ provider: ProviderName });
const SignatureHeaders = Type.Object({
  'x-croupier-signature': Type.Optional(Type.String({ description: 'sha256=<hex HMAC-SHA256 of the raw body>' })),
});
const strict = { additionalProperties: false } as const;

const BalanceBody = Type.Object({ playerId: PlayerId, currency: Type.Optional(Currency) }, strict);
const BetBody = Type.Object(
  { playerId: PlayerId, transactionId: ExternalId, roundId: ExternalId, gameId: ExternalId, amount: DecimalAmount, currency: Currency },
  strict,
);
const WinBody = Type.Object(
  {
    playerId: PlayerId,
    transactionId: ExternalId,
    roundId: ExternalId,
    gameId: ExternalId,
    amount: DecimalAmount,
    currency: Currency,
    betTransactionId: Type.Optional(ExternalId),
    endRound: Type.Optional(Type.Boolean({ description: 'Also end the round, as end-round would' })),
  },
  strict,
);
const RollbackBody = Type.Object(
  { playerId: PlayerId, transactionId: ExternalId, betTransactionId: ExternalId, roundId: ExternalId, gameId: ExternalId },
  strict,
);
const EndRoundBody = Type.Object(
  { playerId: PlayerId, transactionId: ExternalId, roundId: ExternalId, gameId: ExternalId },
  strict,
);
const BalanceResponse = Type.Object({
  playerId: Type.String(),
  currency: Type.String(),
  balance: DecimalBalance,
  cash: DecimalBalance,
  bonus: DecimalBalance,
  balanceVersion: Type.Integer(),
});

const security = [{ providerSignature: [] }];
const moneyResponses = { 200: ProviderTransactionResponse, ...errorResponses(401, 402, 403, 404, 409, 413, 415) };

/** Sends the stored body of a money operation unchanged, so replays are byte-for-byte equal. */
export function sendLedgerResponse(reply: FastifyReply, response: LedgerResponse): FastifyReply {
  if (response.outcome === 'replayed') void reply.header('idempotent-replayed', 'true');
  return reply.code(response.statusCode).type('application/json; charset=utf-8').send(response.body);
}

/**
 * Seamless-wallet API of game providers. Every request is signed with the
 * provider's secret; the signature is checked before the body is validated.
 */
export const providerWalletRoutes: FastifyPluginAsyncTypebox<{ deps: WalletAppDeps }> = async (app, { deps }) => {
  const { store } = deps;

  app.addHook('preValidation', async (request: FastifyRequest) => {
    const provider = (request.params as { provider?: string }).provider ?? '';
    const secret = deps.providerSecrets.get(provider);
    if (secret === undefined) throw walletError('WALLET_ERR_PROVIDER_UNKNOWN', { provider: provider.slice(0, 64) });
    verifySignature(secret, request.rawBody ?? Buffer.alloc(0), request.headers[SIGNATURE_HEADER]);
    rejectMalformedBody(request);
  });

  const schemaBase = { tags: ['provider wallet'], security, params: Params, headers: SignatureHeaders };

  app.post('/balance', {
    schema: { ...schemaBase, summary: 'Current balance of a player', body: BalanceBody, response: { 200: BalanceResponse, ...errorResponses(401, 404) } },
  }, async (request) => {
    const balance = await readBalance(store, request.body.playerId);
    if (request.body.currency !== undefined && request.body.currency !== balance.currency) {
      throw walletError('WALLET_ERR_CURRENCY_MISMATCH', { currency: request.body.currency, playerCurrency: balance.currency });
    }
    return {
      playerId: balance.playerId,
      currency: balance.currency,
      balance: formatMinor(balance.cashMinor + balance.bonusMinor, balance.currency),
      cash: formatMinor(balance.cashMinor, balance.currency),
      bonus: formatMinor(balance.bonusMinor, balance.currency),
      balanceVersion: balance.balanceVersion,
    };
  });

  app.post('/bet', {
    schema: { ...schemaBase, summary: 'Debit a bet: cash first, then bonus', body: BetBody, response: moneyResponses },
  }, async (request, reply) => {
    const context = callbackContext(request, request.params.provider, request.body);
    return sendLedgerResponse(reply, await placeBet(store, { ...request.body, ...context }));
  });

  app.post('/win', {
    schema: { ...schemaBase, summary: 'Credit a win to cash', body: WinBody, response: moneyResponses },
  }, async (request, reply) => {
    const context = callbackContext(request, request.params.provider, request.body);
    return sendLedgerResponse(reply, await creditWin(store, { ...request.body, ...context }));
  });

  app.post('/rollback', {
    schema: { ...schemaBase, summary: 'Roll back a bet (see the README for the semantics)', body: RollbackBody, response: moneyResponses },
  }, async (request, reply) => {
    const context = callbackContext(request, request.params.provider, request.body);
    return sendLedgerResponse(reply, await rollBackBet(store, { ...request.body, ...context }));
  });

  app.post('/end-round', {
    schema: { ...schemaBase, summary: 'End a round; later wins, bets and rollbacks in it are rejected', body: EndRoundBody, response: moneyResponses },
  }, async (request, reply) => {
    const context = callbackContext(request, request.params.provider, request.body);
    return sendLedgerResponse(reply, await endRound(store, { ...request.body, ...context }));
  });
};

function callbackContext(request: FastifyRequest, provider: string, body: { playerId: string; transactionId: string }) {
  return {
    provider,
    traceparent: request.traceparent,
    logger: request.log.child({ provider, playerId: body.playerId, transactionId: body.transactionId }),
  };
}
