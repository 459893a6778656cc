import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  CroupierError,
  signStaffToken,
  StaffTokenError,
  verifyStaffToken,
  type FlagStatus,
  type StaffRole,
} from '@croupier/shared';
import type { RulesMetrics } from '../metrics.js';
import type { RulesStatus } from '../rules/watcher.js';
import { getFlagDetail, listFlags, listPlayerFlags, listPlayerInterventions, transitionFlag } from '../db/queries.js';
import { UNKNOWN_USER_HASH, verifyPassword } from '../staff/passwords.js';
import { findStaffById, findStaffByUsername } from '../staff/store.js';
import { errorResponseBody, rulesError } from './errors.js';

export interface ReadinessChecks {
  database: () => Promise<boolean>;
  redis: () => boolean;
  bus: () => boolean;
  rulesLoaded: () => boolean;
}

export interface RulesAppDeps {
  brand: string;
  pool: pg.Pool;
  logger: Logger;
  metrics: RulesMetrics;
  staffTokenSecret: string;
  staffTokenTtlSeconds: number;
  rulesStatus: () => RulesStatus;
  readiness: ReadinessChecks;
  /** Wakes the event relay after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
}

interface StaffPrincipal {
  staffId: string;
  username: string;
  role: StaffRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    staff?: StaffPrincipal;
  }
}

const PlayerId = Type.String({ minLength: 1, maxLength: 128 });
const FlagId = Type.String({ format: 'uuid' });
const FlagStatusSchema = Type.Union([Type.Literal('open'), Type.Literal('in_review'), Type.Literal('resolved')]);
/** A note must contain text: whitespace alone is rejected like an empty note. */
const Note = Type.String({ minLength: 1, maxLength: 4000, pattern: '\\S' });

/** Routes served without a staff token. */
const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/staff/sessions']);

/**
 * Builds the back office API without listening, so tests can call it with
 * `inject`. Every route except the probes, /metrics and sign-in needs a
 * staff token of this brand.
 */
export async function buildRulesApp(deps: RulesAppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 65_536,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // verbose puts the rejected value on each validation error, which the response repeats.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false, verbose: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandlers(app);
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return;
    request.staff = await authenticate(request, deps);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = {
      database: await deps.readiness.database(),
      redis: deps.readiness.redis(),
      bus: deps.readiness.bus(),
      rulesLoaded: deps.readiness.rulesLoaded(),
    };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', ...checks });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });

  app.post(
    '/staff/sessions',
    {
      schema: {
        body: Type.Object(
          { username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { username, password } = request.body;
      const account = await findStaffByUsername(deps.pool, username);
      // An unknown user still costs one scrypt, so timing does not reveal which usernames exist.
      const passwordMatches = await verifyPassword(password, account?.passwordHash ?? (await UNKNOWN_USER_HASH));
      if (account === undefined || account.disabled || !passwordMatches) {
        request.log.info({ username }, 'staff sign-in rejected');
        throw rulesError('RULES_ERR_CREDENTIALS_INVALID');
      }
      const { token, expiresAt } = await signStaffToken(deps.staffTokenSecret, {
        staffId: account.staffId,
        username: account.username,
        brand: deps.brand,
        role: account.role,
        ttlSeconds: deps.staffTokenTtlSeconds,
      });
      request.log.info({ staffId: account.staffId, username: account.username, role: account.role }, 'staff signed in');
      return { token, role: account.role, expiresAt: expiresAt.toISOString() };
    },
  );

  app.get('/rules', async () => deps.rulesStatus());

  app.get(
    '/players/:playerId/interventions',
    {
      schema: {
        params: Type.Object({ playerId: PlayerId }),
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }, { additionalProperties: false }),
      },
    },
    async (request) => ({
      interventions: await listPlayerInterventions(deps.pool, request.params.playerId, request.query.limit ?? 50),
    }),
  );

  app.get('/players/:playerId/flags', { schema: { params: Type.Object({ playerId: PlayerId }) } }, async (request) => ({
    flags: await listPlayerFlags(deps.pool, request.params.playerId),
  }));

  app.get(
    '/flags',
    {
      schema: {
        querystring: Type.Object(
          {
            status: Type.Optional(FlagStatusSchema),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const statuses: FlagStatus[] = request.query.status === undefined ? ['open', 'in_review'] : [request.query.status];
      return { flags: await listFlags(deps.pool, statuses, request.query.limit ?? 100) };
    },
  );

  app.get('/flags/:flagId', { schema: { params: Type.Object({ flagId: FlagId }) } }, async (request) =>
    getFlagDetail(deps.pool, request.params.flagId),
  );

  const transitionRoute = (operation: 'review' | 'resolve') =>
    app.post(
      `/flags/:flagId/${operation}`,
      {
        schema: {
          params: Type.Object({ flagId: FlagId }),
          body: Type.Optional(
            Type.Object(operation === 'resolve' ? { note: Note } : { note: Type.Optional(Note) }, { additionalProperties: false }),
          ),
        },
      },
      async (request) => {
        const staff = request.staff as StaffPrincipal;
        if (staff.role !== 'compliance_officer') {
          throw rulesError('RULES_ERR_FORBIDDEN_ROLE', {
            role: staff.role,
            operation: `${operation} flags`,
            requiredRole: 'compliance_officer',
          });
        }
        const body = request.body as { note?: string } | undefined;
        if (operation === 'resolve' && body?.note === undefined) {
          throw rulesError('RULES_ERR_VALIDATION', { reason: 'body must have a note explaining the resolution', field: 'note' });
        }
        const flag = await transitionFlag(deps.pool, deps.brand, request.params.flagId, operation, staff, body?.note ?? null);
        request.log.info({ flagId: flag.flagId, status: flag.status, staffId: staff.staffId }, `flag ${operation} recorded`);
        deps.onOutboxWritten();
        return flag;
      },
    );
  transitionRoute('review');
  transitionRoute('resolve');

  return app;
}

async function authenticate(request: FastifyRequest, deps: RulesAppDeps): Promise<StaffPrincipal> {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
  if (match === null) throw rulesError('RULES_ERR_UNAUTHENTICATED');

  let claims;
  try {
    claims = await verifyStaffToken(deps.staffTokenSecret, match[1] as string, deps.brand);
  } catch (error) {
    if (!(error instanceof StaffTokenError)) throw error;
    if (error.code === 'TOKEN_EXPIRED') throw rulesError('RULES_ERR_TOKEN_EXPIRED');
    if (error.code === 'BRAND_MISMATCH') {
      throw rulesError('RULES_ERR_TOKEN_BRAND_MISMATCH', { brand: deps.brand, tokenBrand: tokenBrandOf(match[1] as string) });
    }
    throw rulesError('RULES_ERR_TOKEN_INVALID', { reason: error.message });
  }
  // The account is read on each request, so disabling it takes effect before its tokens expire.
  const account = await findStaffById(deps.pool, claims.staffId);
  if (account === undefined || account.disabled) throw rulesError('RULES_ERR_STAFF_DISABLED');
  return { staffId: account.staffId, username: account.username, role: account.role };
}

/** Reads the brand claim of a token whose signature has been verified. */
function tokenBrandOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { brand?: unknown };
    return String(payload.brand);
  } catch {
    return 'unknown';
  }
}

/** Maps any error thrown while handling a request to a RULES_ERR_* response `{ error: { code, message, ...details } }`. */
function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const rulesErr = toRulesError(error);
    if (rulesErr.statusCode >= 500) request.log.error({ err: error, code: rulesErr.code }, 'request failed');
    else request.log.info({ code: rulesErr.code, statusCode: rulesErr.statusCode }, 'request rejected');
    return reply.code(rulesErr.statusCode).send(errorResponseBody(rulesErr));
  });
  app.setNotFoundHandler((request, reply) => {
    const rulesErr = rulesError('RULES_ERR_ROUTE_NOT_FOUND', { method: request.method, url: request.url.split('?')[0] });
    return reply.code(404).send(errorResponseBody(rulesErr));
  });
}

function toRulesError(error: unknown): CroupierError {
  if (error instanceof CroupierError) return error;
  const fastifyError = error as Partial<FastifyError> & { validation?: { instancePath?: string; params?: Record<string, unknown>; data?: unknown }[] };
  if (fastifyError.validation !== undefined) {
    const first = fastifyError.validation[0];
    return rulesError('RULES_ERR_VALIDATION', {
      reason: fastifyError.message,
      field: `${fastifyError.validationContext ?? ''}${first?.instancePath ?? ''}`,
      ...(first?.params === undefined ? {} : { constraint: first.params }),
      ...(first?.data === undefined ? {} : { value: first.data }),
    });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return rulesError('RULES_ERR_MALFORMED_JSON', { reason: fastifyError.message });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return rulesError('RULES_ERR_VALIDATION', { reason: fastifyError.message });
  }
  const pgCode = (error as { code?: unknown }).code;
  if (typeof pgCode === 'string' && (pgCode.startsWith('08') || pgCode === '57P01' || pgCode === 'ECONNREFUSED')) {
    return rulesError('RULES_ERR_UNAVAILABLE');
  }
  return rulesError('RULES_ERR_INTERNAL');
}
