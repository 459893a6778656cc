import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signStaffToken } from '@croupier/shared';
import { at, HOUR_MS, TEST_RULES } from './support/rules-fixture.js';
import { AGENT, consumedCount, OFFICER, STAFF_TOKEN_SECRET, startStack, waitFor, waitForConsumed, type TestStack } from './support/stack.js';

let stack: TestStack;

async function call(method: 'GET' | 'POST', url: string, options: { token?: string; body?: unknown } = {}) {
  const response = await stack.service.app.inject({
    method,
    url,
    headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
    ...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
  });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> & { error?: Record<string, unknown> } };
}

async function signIn(account: { username: string; password: string }): Promise<string> {
  const response = await call('POST', '/staff/sessions', { body: { username: account.username, password: account.password } });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.token as string;
}

/** Makes the deposits-24h rule (actions prompt and flag) fire for a new player; returns the player id. */
async function playerWithFlag(): Promise<string> {
  const playerId = `player-${randomUUID().slice(0, 8)}`;
  const before = await consumedCount(stack);
  await stack.publish('DepositCompleted', playerId, { paymentReference: randomUUID(), currency: 'EUR', amountMinor: 100_000, method: 'card' }, {
    occurredAt: at(0),
  });
  await waitForConsumed(stack, before + 1);
  return playerId;
}

describe('back office API', () => {
  before(async () => {
    stack = await startStack(TEST_RULES);
  });
  after(async () => {
    await stack?.close();
  });

  test('sign-in returns a token for the role', async () => {
    const response = await call('POST', '/staff/sessions', { body: { username: OFFICER.username, password: OFFICER.password } });
    assert.equal(response.status, 200);
    assert.equal(response.body.role, 'compliance_officer');
    assert.equal(typeof response.body.token, 'string');
    assert.ok(Date.parse(response.body.expiresAt as string) > Date.now());
  });

  test('sign-in rejects bad credentials alike', async () => {
    const wrongPassword = await call('POST', '/staff/sessions', { body: { username: OFFICER.username, password: 'wrong-password-1' } });
    const unknownUser = await call('POST', '/staff/sessions', { body: { username: 'nobody', password: 'wrong-password-1' } });
    assert.equal(wrongPassword.status, 401);
    assert.equal(unknownUser.status, 401);
    assert.equal(wrongPassword.body.error?.code, 'RULES_ERR_CREDENTIALS_INVALID');
    assert.deepEqual(unknownUser.body, wrongPassword.body, 'the response must not reveal whether the username exists');
  });

  test('routes need a valid token of this brand', async () => {
    const missing = await call('GET', '/flags');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error?.code, 'RULES_ERR_UNAUTHENTICATED');

    const garbage = await call('GET', '/flags', { token: 'not-a-token' });
    assert.equal(garbage.status, 401);
    assert.equal(garbage.body.error?.code, 'RULES_ERR_TOKEN_INVALID');

    const otherBrand = await signStaffToken(STAFF_TOKEN_SECRET, {
      staffId: randomUUID(),
      username: OFFICER.username,
      brand: 'other-brand',
      role: 'compliance_officer',
      ttlSeconds: 60,
    });
    const mismatch = await call('GET', '/flags', { token: otherBrand.token });
    assert.equal(mismatch.status, 403);
    assert.equal(mismatch.body.error?.code, 'RULES_ERR_TOKEN_BRAND_MISMATCH');
    assert.equal(mismatch.body.error?.tokenBrand, 'other-brand');

    const otherSecret = await signStaffToken('another-brand-secret-0123456789abcdef-xyz', {
      staffId: randomUUID(),
      username: OFFICER.username,
      brand: stack.brand,
      role: 'compliance_officer',
      ttlSeconds: 60,
    });
    const forged = await call('GET', '/flags', { token: otherSecret.token });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.error?.code, 'RULES_ERR_TOKEN_INVALID');

    const unknownStaff = await signStaffToken(STAFF_TOKEN_SECRET, {
      staffId: randomUUID(),
      username: 'ghost',
      brand: stack.brand,
      role: 'compliance_officer',
      ttlSeconds: 60,
    });
    const ghost = await call('GET', '/flags', { token: unknownStaff.token });
    assert.equal(ghost.status, 401);
    assert.equal(ghost.body.error?.code, 'RULES_ERR_STAFF_DISABLED');

    // A signed token whose subject is not a staff id at all is refused the same way, not a 500.
    const oddSubject = await signStaffToken(STAFF_TOKEN_SECRET, { staffId: 'not-a-uuid', username: 'odd', brand: stack.brand, role: 'agent', ttlSeconds: 60 });
    const odd = await call('GET', '/flags', { token: oddSubject.token });
    assert.equal(odd.status, 401);
    assert.equal(odd.body.error?.code, 'RULES_ERR_STAFF_DISABLED');
  });

  test('flag lifecycle is audited and published', async () => {
    const playerId = await playerWithFlag();
    const officer = await signIn(OFFICER);
    const agent = await signIn(AGENT);

    const interventions = await call('GET', `/players/${playerId}/interventions?limit=10`, { token: agent });
    assert.equal(interventions.status, 200);
    const [intervention] = interventions.body.interventions as Record<string, unknown>[];
    assert.equal(intervention?.ruleId, 'deposits-24h');
    assert.deepEqual(intervention?.values, { sumMinor: 100_000, count: 1 });

    const playerFlags = await call('GET', `/players/${playerId}/flags`, { token: agent });
    const [flag] = playerFlags.body.flags as Record<string, unknown>[];
    assert.equal(flag?.status, 'open');
    assert.equal(flag?.flagId, intervention?.flagId);
    const flagId = flag?.flagId as string;

    const queue = await call('GET', '/flags?status=open', { token: agent });
    assert.ok((queue.body.flags as { flagId: string }[]).some((item) => item.flagId === flagId));

    const agentReview = await call('POST', `/flags/${flagId}/review`, { token: agent, body: { note: 'looking' } });
    assert.equal(agentReview.status, 403);
    assert.equal(agentReview.body.error?.code, 'RULES_ERR_FORBIDDEN_ROLE');

    const earlyResolve = await call('POST', `/flags/${flagId}/resolve`, { token: officer, body: { note: 'too early' } });
    assert.equal(earlyResolve.status, 409);
    assert.equal(earlyResolve.body.error?.code, 'RULES_ERR_FLAG_TRANSITION_INVALID');
    assert.equal(earlyResolve.body.error?.status, 'open');

    const review = await call('POST', `/flags/${flagId}/review`, { token: officer, body: { note: 'checking deposits' } });
    assert.equal(review.status, 200, JSON.stringify(review.body));
    assert.equal(review.body.status, 'in_review');

    const agentResolve = await call('POST', `/flags/${flagId}/resolve`, { token: agent, body: { note: 'fine' } });
    assert.equal(agentResolve.status, 403);
    assert.equal(agentResolve.body.error?.code, 'RULES_ERR_FORBIDDEN_ROLE');

    const noNote = await call('POST', `/flags/${flagId}/resolve`, { token: officer, body: {} });
    assert.equal(noNote.status, 400);
    assert.equal(noNote.body.error?.code, 'RULES_ERR_VALIDATION');
    const blankNote = await call('POST', `/flags/${flagId}/resolve`, { token: officer, body: { note: '   ' } });
    assert.equal(blankNote.status, 400, 'a note of spaces says nothing');
    assert.equal(blankNote.body.error?.code, 'RULES_ERR_VALIDATION');

    const resolve = await call('POST', `/flags/${flagId}/resolve`, { token: officer, body: { note: 'source of funds verified' } });
    assert.equal(resolve.status, 200);
    assert.equal(resolve.body.status, 'resolved');

    // Lists carry the latest change, so a queue or a player view can show the note without the audit trail.
    const listed = await call('GET', '/flags?status=resolved', { token: agent });
    const listedFlag = (listed.body.flags as Array<Record<string, unknown>>).find((flag) => flag.flagId === flagId);
    assert.equal(listedFlag?.lastNote, 'source of funds verified');
    assert.equal(typeof listedFlag?.lastActor, 'string');

    const detail = await call('GET', `/flags/${flagId}`, { token: agent });
    assert.equal(detail.status, 200);
    const audit = detail.body.audit as Record<string, unknown>[];
    assert.deepEqual(
      audit.map((entry) => [entry.action, entry.fromStatus, entry.toStatus, entry.actor, entry.actorRole, entry.note]),
      [
        ['opened', null, 'open', 'rules-engine', null, audit[0]?.note],
        ['review_started', 'open', 'in_review', OFFICER.username, 'compliance_officer', 'checking deposits'],
        ['resolved', 'in_review', 'resolved', OFFICER.username, 'compliance_officer', 'source of funds verified'],
      ],
    );
    assert.equal((detail.body.intervention as Record<string, unknown>).interventionId, intervention?.interventionId);

    const resolvedQueue = await call('GET', '/flags?status=resolved', { token: agent });
    assert.ok((resolvedQueue.body.flags as { flagId: string }[]).some((item) => item.flagId === flagId));

    await waitFor(
      () => stack.published.filter((event) => event.type === 'ComplianceFlagChanged' && event.data.flagId === flagId).length === 3,
      'three ComplianceFlagChanged events',
    );
    const changes = stack.published.filter((event) => event.type === 'ComplianceFlagChanged' && event.data.flagId === flagId);
    assert.deepEqual(
      changes.map((event) => (event.type === 'ComplianceFlagChanged' ? [event.data.previousStatus, event.data.status, event.data.changedBy] : [])),
      [
        [null, 'open', 'rules-engine'],
        ['open', 'in_review', OFFICER.username],
        ['in_review', 'resolved', OFFICER.username],
      ],
    );
    const triggered = stack.published.find((event) => event.type === 'InterventionTriggered' && event.playerId === playerId);
    assert.ok(triggered !== undefined, 'no InterventionTriggered event was published for the player');
    assert.ok(triggered.type === 'InterventionTriggered');
    assert.equal(triggered.data.flagId, flagId);
    assert.deepEqual(triggered.data.actions, ['prompt', 'flag']);
    assert.deepEqual(triggered.data.values, { sumMinor: 100_000, count: 1 });
    assert.deepEqual(triggered.data.thresholds, { sumMinor: 100_000 });
    assert.equal(triggered.data.windowEnd, at(0).toISOString());
    assert.equal(triggered.data.currency, 'EUR');
  });

  test('audit trail rejects changes', async () => {
    await assert.rejects(stack.service.pool.query('DELETE FROM rules.flag_audit'), /append-only/);
  });

  test('bad input returns codes and values', async () => {
    const agent = await signIn(AGENT);
    const badLimit = await call('GET', '/players/p1/interventions?limit=0', { token: agent });
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.body.error?.code, 'RULES_ERR_VALIDATION');
    assert.equal(badLimit.body.error?.value, 0);

    const badStatus = await call('GET', '/flags?status=closed', { token: agent });
    assert.equal(badStatus.status, 400);
    assert.equal(badStatus.body.error?.code, 'RULES_ERR_VALIDATION');
    assert.equal(badStatus.body.error?.value, 'closed');

    const badId = await call('GET', '/flags/not-a-uuid', { token: agent });
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error?.value, 'not-a-uuid');

    const missingFlag = await call('GET', `/flags/${randomUUID()}`, { token: agent });
    assert.equal(missingFlag.status, 404);
    assert.equal(missingFlag.body.error?.code, 'RULES_ERR_FLAG_NOT_FOUND');

    const extraField = await call('POST', '/staff/sessions', { body: { username: 'a', password: 'b', admin: true } });
    assert.equal(extraField.status, 400);
    assert.equal(extraField.body.error?.code, 'RULES_ERR_VALIDATION');

    const malformed = await stack.service.app.inject({
      method: 'POST',
      url: '/staff/sessions',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, 'RULES_ERR_MALFORMED_JSON');

    const noRoute = await call('GET', '/nowhere', { token: agent });
    assert.equal(noRoute.status, 404);
    assert.equal(noRoute.body.error?.code, 'RULES_ERR_ROUTE_NOT_FOUND');
  });

  test('probes and metrics are public', async () => {
    assert.equal((await call('GET', '/healthz')).status, 200);
    const ready = await call('GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    const metrics = await stack.service.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /rules_interventions_total/);
  });

  test('email reaches the compliance mailbox', async () => {
    const playerId = `player-${randomUUID().slice(0, 8)}`;
    const before = await consumedCount(stack);
    await stack.publish('DepositCompleted', playerId, { paymentReference: randomUUID(), currency: 'CHF', amountMinor: 600_000, method: 'card' }, {
      occurredAt: at(HOUR_MS),
    });
    await waitForConsumed(stack, before + 1);
    const mail = await waitFor(() => stack.smtp.mails.find((item) => item.raw.includes(playerId)), 'the compliance email');
    assert.deepEqual(mail.to, ['compliance@example.test']);
    assert.match(mail.raw, /big-deposit-chf/);
    assert.match(mail.raw, /X-Croupier-Intervention: [0-9a-f-]{36}/);
    // The SMTP server has the mail before the service records the send, so wait for the record.
    const sent = await waitFor(async () => {
      const { rows } = await stack.service.pool.query('SELECT sent_at, attempts FROM rules.email_outbox WHERE sent_at IS NOT NULL');
      return rows.length >= 1 ? rows : undefined;
    }, 'the email to be recorded as sent');
    assert.ok(sent.length >= 1);
  });
});
