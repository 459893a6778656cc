import type { FastifyRequest } from 'fastify';
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ExclusionKind, LimitPeriod, LimitType } from '@croupier/shared';
import type { WalletAppDeps } from '../deps.js';
import { readExclusions, readLimits, setLimit, startExclusion } from '../ledger/responsible-gaming.js';
import { ApiKeyHeaders, Currency, errorResponses, PlayerId } from './schemas.js';

const strict = { additionalProperties: false } as const;
const Timestamp = Type.String({ format: 'date-time' });
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);
const ChangedBy = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[\\x21-\\x7E]+$',
  description: 'Who requested the change, for the audit trail and the event: the player id or a staff id',
});

const PlayerParams = Type.Object({ playerId: PlayerId });
const LimitParams = Type.Object({ playerId: PlayerId, limitType: LimitType, period: LimitPeriod });

const SetLimitBody = Type.Object(
  {
    currency: Currency,
    amountMinor: Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()], {
      description: 'Limit in minor units of the player currency; null removes the limit',
    }),
    changedBy: ChangedBy,
  },
  strict,
);
const StartExclusionBody = Type.Object(
  {
    kind: ExclusionKind,
    until: Type.Union([Timestamp, Type.Null()], {
      description: 'End of the exclusion, in the future; null for an indefinite self-exclusion (a time-out needs an end)',
    }),
    changedBy: ChangedBy,
  },
  strict,
);

const PendingLimitResponse = Type.Object({
  amountMinor: Type.Union([Type.Integer(), Type.Null()], { description: 'Null for a pending removal' }),
  effectiveAt: Timestamp,
  changedBy: Type.String(),
});
const LimitResponse = Type.Object({
  limitType: LimitType,
  period: LimitPeriod,
  currency: Type.String(),
  amountMinor: Type.Union([Type.Integer(), Type.Null()], { description: 'Limit in force now; null for no limit' }),
  pending: Type.Union([PendingLimitResponse, Type.Null()], { description: 'A raised limit or removal waiting for its cooling-off period' }),
  usedMinor: Type.Integer({ description: 'Deposits, or net loss (negative while the player is ahead), in the current period' }),
  remainingMinor: NullableInteger,
  periodStart: Timestamp,
  periodEnd: Type.String({ format: 'date-time', description: 'Exclusive end of the current calendar period (UTC)' }),
});
const PlayerLimitsResponse = Type.Object({
  playerId: Type.String(),
  currency: Type.String(),
  limits: Type.Array(LimitResponse, { description: 'Deposit limits, then loss limits, each day, week, month' }),
  takenAt: Timestamp,
});
const ExclusionResponse = Type.Object({
  kind: ExclusionKind,
  startedAt: Timestamp,
  until: Type.Union([Timestamp, Type.Null()], { description: 'Null for an indefinite self-exclusion' }),
  changedBy: Type.String(),
});
const PlayerExclusionsResponse = Type.Object({
  playerId: Type.String(),
  active: Type.Union([ExclusionResponse, Type.Null()], { description: 'The exclusion in force that ends last' }),
  exclusions: Type.Array(ExclusionResponse, { description: 'Every exclusion, newest first, at most 100' }),
  takenAt: Timestamp,
});

/**
 * Responsible-gaming part of the licensee API: deposit and loss limits,
 * time-outs and self-exclusions. Registered inside the player routes, so the
 * X-Api-Key check of those routes runs first.
 */
export const responsibleGamingRoutes: FastifyPluginAsyncTypebox<{ deps: WalletAppDeps }> = async (app, { deps }) => {
  const { store } = deps;
  const base = { tags: ['responsible gaming'], security: [{ apiKey: [] }], headers: ApiKeyHeaders };
  const context = (request: FastifyRequest, playerId: string, changedBy: string) => ({
    playerId,
    changedBy,
    traceparent: request.traceparent,
    logger: request.log.child({ playerId, changedBy }),
  });

  app.put('/:playerId/limits/:limitType/:period', {
    schema: {
      ...base,
      summary: 'Set or remove a deposit or loss limit; a raise or removal applies after the cooling-off period',
      params: LimitParams,
      body: SetLimitBody,
      response: { 200: LimitResponse, ...errorResponses(401, 404, 409, 413, 415) },
    },
  }, async (request) => {
    const { playerId, limitType, period } = request.params;
    return setLimit(store, {
      ...context(request, playerId, request.body.changedBy),
      limitType,
      period,
      currency: request.body.currency,
      amountMinor: request.body.amountMinor,
      coolingOffSeconds: deps.limitCoolingOffSeconds,
    });
  });

  app.get('/:playerId/limits', {
    schema: {
      ...base,
      summary: 'Every limit as it applies now, with its pending change and the usage of the current period',
      params: PlayerParams,
      response: { 200: PlayerLimitsResponse, ...errorResponses(401, 404) },
    },
  }, async (request) => readLimits(store, request.params.playerId));

  app.post('/:playerId/exclusions', {
    schema: {
      ...base,
      summary: 'Start a time-out or self-exclusion now; it cannot be shortened or lifted',
      params: PlayerParams,
      body: StartExclusionBody,
      response: { 201: ExclusionResponse, ...errorResponses(401, 404, 409, 413, 415) },
    },
  }, async (request, reply) => {
    const exclusion = await startExclusion(store, {
      ...context(request, request.params.playerId, request.body.changedBy),
      kind: request.body.kind,
      until: request.body.until,
    });
    return reply.code(201).send(exclusion);
  });

  app.get('/:playerId/exclusions', {
    schema: {
      ...base,
      summary: 'The exclusion in force, if any, and the exclusion history',
      params: PlayerParams,
      response: { 200: PlayerExclusionsResponse, ...errorResponses(401, 404) },
    },
  }, async (request) => readExclusions(store, request.params.playerId));
};
