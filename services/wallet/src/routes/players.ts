import type { FastifyRequest } from 'fastify';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { signPlayerToken, type BalanceSnapshot } from '@croupier/shared';
import { API_KEY_HEADER } from '../auth/api-key.js';
import type { WalletAppDeps } from '../deps.js';
import { walletError } from '../errors.js';
import { rejectMalformedBody } from '../http/raw-body.js';
import { creditBonus } from '../ledger/bonus.js';
import { createPlayer, getPlayer, readBalance, setKycStatus, setPlayerStatus } from '../ledger/players.js';
import { listTransactions } from '../ledger/transactions.js';
import { responsibleGamingRoutes } from './responsible-gaming.js';
import { sendLedgerResponse } from './provider-wallet.js';
import {
  ApiKeyHeaders,
  Currency,
  DecimalAmount,
  errorResponses,
  ExternalId,
  KycStatus,
  PlayerId,
  PlayerStatus,
  transactionResponse,
} from './schemas.js';

const strict = { additionalProperties: false } as const;
const PlayerParams = Type.Object({ playerId: PlayerId });

const PlayerResponse = Type.Object({
  playerId: Type.String(),
  currency: Type.String(),
  status: PlayerStatus,
  kycStatus: KycStatus,
  balanceVersion: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
});
const SnapshotResponse = Type.Object({
  playerId: Type.String(),
  currency: Type.String(),
  cashMinor: Type.Integer(),
  bonusMinor: Type.Integer(),
  balanceVersion: Type.Integer(),
  takenAt: Type.String({ format: 'date-time' }),
});
const TokenResponse = Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }) });
const BonusBody = Type.Object({ bonusReference: ExternalId, amount: DecimalAmount, currency: Currency }, strict);
const BonusResponse = transactionResponse('bonusReference', 'The bonusReference of the request');

const MAX_LISTED_TRANSACTIONS = 500;
const TransactionsQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,6}$', default: '50', description: `How many transactions, 1 to ${MAX_LISTED_TRANSACTIONS}` }),
    ),
  },
  strict,
);
const NullableString = Type.Union([Type.String(), Type.Null()]);
const ListedTransactionResponse = Type.Object({
  transactionId: Type.String({ format: 'uuid' }),
  type: Type.Union([
    Type.Literal('bet'),
    Type.Literal('win'),
    Type.Literal('rollback'),
    Type.Literal('end_round'),
    Type.Literal('deposit'),
    Type.Literal('withdrawal_requested'),
    Type.Literal('withdrawal_completed'),
    Type.Literal('withdrawal_failed'),
    Type.Literal('bonus'),
  ]),
  reference: Type.String({ description: 'The provider transaction id, payment reference or bonus reference' }),
  amountMinor: Type.Integer(),
  currency: Type.String(),
  balanceAfterMinor: Type.Integer({ description: 'Cash plus bonus after the transaction' }),
  cashAfterMinor: Type.Integer(),
  bonusAfterMinor: Type.Integer(),
  balanceVersion: Type.Integer({ description: 'Balance version after the transaction; unchanged by end-round' }),
  committedAt: Type.String({
    format: 'date-time',
    description: 'When the wallet recorded the transaction, inside the database transaction that committed it',
  }),
  provider: NullableString,
  roundId: NullableString,
  gameId: NullableString,
  targetTransactionId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
    description: 'The bet a win or rollback targets, or the withdrawal a completion or failure settles',
  }),
});
const TransactionsResponse = Type.Object({ playerId: Type.String(), transactions: Type.Array(ListedTransactionResponse) });

/**
 * Licensee API: players, their status and KYC, bonus credits, balance
 * snapshots and push-gateway session tokens. Authenticated by X-Api-Key
 * before the body is read.
 */
export const playerRoutes: FastifyPluginAsyncTypebox<{ deps: WalletAppDeps }> = async (app, { deps }) => {
  const { store } = deps;

  app.addHook('onRequest', async (request: FastifyRequest) => {
    deps.apiKeys.verify(request.headers[API_KEY_HEADER]);
  });
  app.addHook('preValidation', async (request: FastifyRequest) => rejectMalformedBody(request));

  const base = { tags: ['players'], security: [{ apiKey: [] }], headers: ApiKeyHeaders };

  app.post('/', {
    schema: {
      ...base,
      summary: 'Create a player; repeating it with the same currency returns the player',
      body: Type.Object({ playerId: PlayerId, currency: Currency }, strict),
      response: { 200: PlayerResponse, 201: PlayerResponse, ...errorResponses(401, 409, 415) },
    },
  }, async (request, reply) => {
    const { player, created } = await createPlayer(store, request.body.playerId, request.body.currency);
    return reply.code(created ? 201 : 200).send(player);
  });

  app.get('/:playerId', {
    schema: { ...base, summary: 'Read a player', params: PlayerParams, response: { 200: PlayerResponse, ...errorResponses(401, 404) } },
  }, async (request) => getPlayer(store, request.params.playerId));

  app.put('/:playerId/status', {
    schema: {
      ...base,
      summary: 'Set active, suspended or closed; suspended and closed players cannot bet, deposit or receive bonuses',
      params: PlayerParams,
      body: Type.Object({ status: PlayerStatus }, strict),
      response: { 200: PlayerResponse, ...errorResponses(401, 404, 415) },
    },
  }, async (request) => setPlayerStatus(store, request.params.playerId, request.body.status));

  app.put('/:playerId/kyc-status', {
    schema: {
      ...base,
      summary: 'Set the KYC status; a change publishes KycStatusChanged',
      params: PlayerParams,
      body: Type.Object({ kycStatus: KycStatus }, strict),
      response: { 200: PlayerResponse, ...errorResponses(401, 404, 415) },
    },
  }, async (request) => {
    const { player } = await setKycStatus(store, request.params.playerId, request.body.kycStatus, request.traceparent, () =>
      deps.commitListener.requestFullDrain('KYC status changed'),
    );
    return player;
  });

  app.post('/:playerId/bonus-credits', {
    schema: {
      ...base,
      summary: 'Credit the bonus balance, idempotent by bonusReference',
      params: PlayerParams,
      body: BonusBody,
      response: { 200: BonusResponse, ...errorResponses(401, 403, 404, 409, 413, 415) },
    },
  }, async (request, reply) => {
    const logger = request.log.child({ playerId: request.params.playerId, bonusReference: request.body.bonusReference });
    const response = await creditBonus(store, {
      ...request.body,
      playerId: request.params.playerId,
      traceparent: request.traceparent,
      logger,
    });
    return sendLedgerResponse(reply, response);
  });

  app.get('/:playerId/balance', {
    schema: {
      ...base,
      summary: 'Balance snapshot in minor units, the shape the push gateway relays to players',
      params: PlayerParams,
      response: { 200: SnapshotResponse, ...errorResponses(401, 404) },
    },
  }, async (request): Promise<BalanceSnapshot> => {
    const { currencyExponent: _exponent, ...snapshot } = await readBalance(store, request.params.playerId);
    return snapshot;
  });

  app.get('/:playerId/transactions', {
    schema: {
      ...base,
      summary: 'The player\'s newest wallet transactions, newest first',
      params: PlayerParams,
      querystring: TransactionsQuery,
      response: { 200: TransactionsResponse, ...errorResponses(401, 404) },
    },
  }, async (request) => {
    const limit = Number(request.query.limit ?? '50');
    if (limit < 1 || limit > MAX_LISTED_TRANSACTIONS) {
      throw walletError('WALLET_ERR_VALIDATION', { reason: `limit must be an integer from 1 to ${MAX_LISTED_TRANSACTIONS}, got ${limit}` });
    }
    const transactions = await listTransactions(store, request.params.playerId, limit);
    return { playerId: request.params.playerId, transactions };
  });

  app.post('/:playerId/session-tokens', {
    schema: {
      ...base,
      summary: 'Issue a short-lived JWT for the push gateway of this brand',
      params: PlayerParams,
      response: { 201: TokenResponse, ...errorResponses(401, 404) },
    },
  }, async (request, reply) => {
    const player = await getPlayer(store, request.params.playerId);
    const { token, expiresAt } = await signPlayerToken(deps.playerTokenSecret, {
      playerId: player.playerId,
      brand: store.brand,
      ttlSeconds: deps.playerTokenTtlSeconds,
    });
    return reply.code(201).send({ token, expiresAt: expiresAt.toISOString() });
  });

  await app.register(responsibleGamingRoutes, { deps });
};
