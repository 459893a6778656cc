import type { FastifyRequest } from 'fastify';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SIGNATURE_HEADER, verifySignature } from '../auth/hmac.js';
import type { WalletAppDeps } from '../deps.js';
import { rejectMalformedBody } from '../http/raw-body.js';
import { completeDeposit, requestWithdrawal, settleWithdrawal } from '../ledger/payments.js';
import { sendLedgerResponse } from './provider-wallet.js';
import { Currency, DecimalAmount, errorResponses, ExternalId, PlayerId, transactionResponse } from './schemas.js';

const strict = { additionalProperties: false } as const;
const PaymentReference = ExternalId;

const DepositBody = Type.Object(
  {
    paymentReference: PaymentReference,
    playerId: PlayerId,
    amount: DecimalAmount,
    currency: Currency,
    method: Type.String({ minLength: 1, maxLength: 64, description: 'Payment method, for example "card"' }),
  },
  strict,
);
const WithdrawalBody = Type.Object(
  { paymentReference: PaymentReference, playerId: PlayerId, amount: DecimalAmount, currency: Currency },
  strict,
);
const WithdrawalCompletedBody = Type.Object({ paymentReference: PaymentReference, playerId: PlayerId }, strict);
const WithdrawalFailedBody = Type.Object(
  { paymentReference: PaymentReference, playerId: PlayerId, reason: Type.String({ minLength: 1, maxLength: 256 }) },
  strict,
);

const PaymentResponse = transactionResponse('paymentReference', 'The paymentReference of the request');
const responses = { 200: PaymentResponse, ...errorResponses(401, 402, 403, 404, 409, 413, 415) };
const SignatureHeaders = Type.Object({
  'x-croupier-signature': Type.Optional(Type.String({ description: 'sha256=<hex HMAC-SHA256 of the raw body>' })),
});

/**
 * Payments API of the brand's payment provider, signed like the provider
 * wallet API with the payment secret. Each call is idempotent by its payment
 * reference: a replay returns the stored response.
 */
export const paymentRoutes: FastifyPluginAsyncTypebox<{ deps: WalletAppDeps }> = async (app, { deps }) => {
  const { store } = deps;

  app.addHook('preValidation', async (request: FastifyRequest) => {
    verifySignature(deps.paymentSecret, request.rawBody ?? Buffer.alloc(0), request.headers[SIGNATURE_HEADER]);
    rejectMalformedBody(request);
  });

  const schemaBase = { tags: ['payments'], security: [{ paymentSignature: [] }], headers: SignatureHeaders, response: responses };
  const context = (request: FastifyRequest, body: { playerId: string; paymentReference: string }) => ({
    traceparent: request.traceparent,
    logger: request.log.child({ playerId: body.playerId, paymentReference: body.paymentReference }),
  });

  app.post('/deposit-completed', {
    schema: { ...schemaBase, summary: 'Credit a completed deposit to cash', body: DepositBody },
  }, async (request, reply) => {
    return sendLedgerResponse(reply, await completeDeposit(store, { ...request.body, ...context(request, request.body) }));
  });

  app.post('/withdrawal-requested', {
    schema: { ...schemaBase, summary: 'Move cash into the withdrawal hold', body: WithdrawalBody },
  }, async (request, reply) => {
    return sendLedgerResponse(reply, await requestWithdrawal(store, { ...request.body, ...context(request, request.body) }));
  });

  app.post('/withdrawal-completed', {
    schema: { ...schemaBase, summary: 'Pay the held money out', body: WithdrawalCompletedBody },
  }, async (request, reply) => {
    const settlement = { ...request.body, outcome: 'completed' as const, ...context(request, request.body) };
    return sendLedgerResponse(reply, await settleWithdrawal(store, settlement));
  });

  app.post('/withdrawal-failed', {
    schema: { ...schemaBase, summary: 'Return the held money to cash', body: WithdrawalFailedBody },
  }, async (request, reply) => {
    const settlement = { ...request.body, outcome: 'failed' as const, ...context(request, request.body) };
    return sendLedgerResponse(reply, await settleWithdrawal(store, settlement));
  });
};
