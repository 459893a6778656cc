import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { signStaffToken } from '@croupier/shared';
import {
  BACKOFFICE_NAMESPACE,
  type BackofficeClientToServerEvents,
  type BackofficeResult,
  type BackofficeServerToClientEvents,
  type ComplianceQueue,
  type FlagChange,
  type InterventionPrompt,
  type InterventionView,
  type PlayerTransaction,
  type StaffSession,
} from '@croupier/shared/contracts';
import { PlayerClient } from '@croupier/player-client';
import { io, type Socket } from 'socket.io-client';
import { startGateway, type GatewayHandle } from '../src/server.js';
import { AGENT, BIG_STAKE_MINOR, OFFICER, STAFF_TOKEN_SECRET, startBackofficeStack, WALLET_API_KEY, type BackofficeStack } from './helpers/backoffice-stack.js';
import { readMetric, TestResources, waitFor } from './helpers/fixtures.js';

type StaffSocket = Socket<BackofficeServerToClientEvents, BackofficeClientToServerEvents>;

/** Events one staff socket received, in order. */
interface Received {
  sessions: StaffSession[];
  queues: ComplianceQueue[];
  balances: number[];
  transactions: PlayerTransaction[];
  interventions: InterventionView[];
  flagChanges: FlagChange[];
}

function connectStaff(resources: TestResources, gatewayUrl: string, token: string | undefined): { socket: StaffSocket; received: Received } {
  const socket: StaffSocket = io(`${gatewayUrl}${BACKOFFICE_NAMESPACE}`, {
    forceNew: true,
    reconnection: false,
    transports: ['websocket'],
    auth: token === undefined ? {} : { token },
  });
  resources.add(() => {
    socket.disconnect();
  });
  const received: Received = { sessions: [], queues: [], balances: [], transactions: [], interventions: [], flagChanges: [] };
  socket.on('session:ready', (session) => received.sessions.push(session));
  socket.on('queue:snapshot', (queue) => received.queues.push(queue));
  socket.on('player:balance', (update) => received.balances.push(update.cashMinor));
  socket.on('player:transaction', (transaction) => received.transactions.push(transaction));
  socket.on('player:intervention', (intervention) => received.interventions.push(intervention));
  socket.on('flag:changed', (change) => received.flagChanges.push(change));
  return { socket, received };
}

function waitForConnectError(socket: StaffSocket): Promise<string | undefined> {
  return new Promise((resolve) => {
    socket.once('connect_error', (error) => resolve((error as Error & { data?: { code?: string } }).data?.code));
  });
}

async function waitForSession(received: Received): Promise<StaffSession> {
  return waitFor(() => received.sessions[0], 'session:ready');
}

function expectOk<T>(result: BackofficeResult<T>, what: string): T {
  if (!result.ok) assert.fail(`${what} failed with ${result.error.code}: ${result.error.message}`);
  return result.value;
}

function expectError<T>(result: BackofficeResult<T>): string {
  if (result.ok) assert.fail('the request succeeded but an error was expected');
  return result.error.code;
}

async function createPlayerToken(stack: BackofficeStack, playerId: string): Promise<string> {
  const response = await fetch(`${stack.walletUrl}/v1/players/${encodeURIComponent(playerId)}/session-tokens`, {
    method: 'POST',
    headers: { 'x-api-key': WALLET_API_KEY },
  });
  assert.equal(response.status, 201, 'the wallet issues a player token');
  return ((await response.json()) as { token: string }).token;
}

describe('back office namespace', () => {
  let stack: BackofficeStack;
  let gateway: GatewayHandle;
  const resources = new TestResources();

  before(async () => {
    stack = await startBackofficeStack('bo');
    gateway = await startGateway(stack.gatewayConfig(), stack.logger);
  });
  afterEach(() => resources.closeAll());
  after(async () => {
    await gateway?.close();
    await stack?.close();
  });

  const rejections = [
    { name: 'missing token', code: 'GATEWAY_ERR_TOKEN_MISSING', token: () => Promise.resolve(undefined) },
    {
      name: 'token of another brand',
      code: 'GATEWAY_ERR_BRAND_MISMATCH',
      token: async () =>
        (await signStaffToken(STAFF_TOKEN_SECRET, { staffId: 'x', username: 'eve', brand: `${stack.brand}-other`, role: 'compliance_officer', ttlSeconds: 60 })).token,
    },
    {
      name: 'token signed with another secret',
      code: 'GATEWAY_ERR_TOKEN_INVALID',
      token: async () =>
        (await signStaffToken('z'.repeat(48), { staffId: 'x', username: 'eve', brand: stack.brand, role: 'compliance_officer', ttlSeconds: 60 })).token,
    },
  ] as const;

  for (const rejection of rejections) {
    test(`staff handshake: ${rejection.name} rejected`, async () => {
      const { socket, received } = connectStaff(resources, gateway.url, await rejection.token());
      const code = await waitForConnectError(socket);

      assert.equal(code, rejection.code, `rejected with ${rejection.code}`);
      assert.equal(received.sessions.length, 0, 'no session was announced');
      assert.ok(
        (await readMetric(gateway.url, 'push_gateway_backoffice_handshake_failures_total', { code: rejection.code })) >= 1,
        'the failure is counted by code',
      );
    });
  }

  test('agent cannot use the compliance queue', async () => {
    const { socket, received } = connectStaff(resources, gateway.url, await stack.signIn(AGENT));
    const session = await waitForSession(received);
    const queueResult = await socket.emitWithAck('queue:refresh');
    const reviewResult = await socket.emitWithAck('flag:review', { flagId: '00000000-0000-4000-8000-000000000000' });
    const resolveResult = await socket.emitWithAck('flag:resolve', { flagId: '00000000-0000-4000-8000-000000000000', note: 'checked' });

    assert.equal(session.role, 'agent', 'the session carries the role');
    assert.equal(session.username, AGENT.username, 'the session carries the username');
    assert.equal(session.brand, stack.brand, 'the session carries the brand');
    assert.equal(session.canWatchQueue, false, 'an agent does not receive the queue');
    assert.equal(received.queues.length, 0, 'no queue snapshot was sent');
    assert.equal(expectError(queueResult), 'BACKOFFICE_ERR_FORBIDDEN', 'queue:refresh is refused');
    assert.equal(expectError(reviewResult), 'BACKOFFICE_ERR_FORBIDDEN', 'the rules service refuses the review');
    assert.equal(expectError(resolveResult), 'BACKOFFICE_ERR_FORBIDDEN', 'the rules service refuses the resolution');
  });

  test('invalid watch requests rejected', async () => {
    const { socket, received } = connectStaff(resources, gateway.url, await stack.signIn(AGENT));
    await waitForSession(received);
    const untypedSocket = socket as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<BackofficeResult<unknown>> };

    assert.equal(expectError(await untypedSocket.emitWithAck('player:watch', 'player-1')), 'BACKOFFICE_ERR_INVALID_REQUEST', 'a bare string');
    assert.equal(expectError(await untypedSocket.emitWithAck('player:watch', { playerId: '' })), 'BACKOFFICE_ERR_INVALID_REQUEST', 'an empty id');
    assert.equal(
      expectError(await socket.emitWithAck('player:watch', { playerId: 'player-that-does-not-exist' })),
      'BACKOFFICE_ERR_PLAYER_NOT_FOUND',
      'an unknown player',
    );
    assert.equal(
      expectError(await untypedSocket.emitWithAck('flag:resolve', { flagId: 'f', note: '   ' })),
      'BACKOFFICE_ERR_INVALID_REQUEST',
      'a blank note',
    );
  });

  test('watch limit enforced', async () => {
    const { socket, received } = connectStaff(resources, gateway.url, await stack.signIn(AGENT));
    await waitForSession(received);
    const players = await Promise.all([1, 2, 3, 4].map(() => stack.createPlayer(1000)));

    for (const playerId of players.slice(0, 3)) expectOk(await socket.emitWithAck('player:watch', { playerId }), `watch ${playerId}`);
    const overLimit = await socket.emitWithAck('player:watch', { playerId: players[3] as string });
    expectOk(await socket.emitWithAck('player:unwatch', { playerId: players[0] as string }), 'unwatch');
    const afterUnwatch = await socket.emitWithAck('player:watch', { playerId: players[3] as string });

    assert.equal(expectError(overLimit), 'BACKOFFICE_ERR_WATCH_LIMIT', 'a fourth player is refused');
    expectOk(afterUnwatch, 'watch after unwatching one');
  });

  test('live session and flag resolution', async () => {
    const playerId = await stack.createPlayer(20_000);
    const officer = connectStaff(resources, gateway.url, await stack.signIn(OFFICER));
    const agent = connectStaff(resources, gateway.url, await stack.signIn(AGENT));
    const officerSession = await waitForSession(officer.received);
    await waitForSession(agent.received);
    await waitFor(() => officer.received.queues[0], 'the queue snapshot on connect');

    const player = new PlayerClient({ url: gateway.url, getToken: () => createPlayerToken(stack, playerId) });
    resources.add(() => player.close());
    const prompts: InterventionPrompt[] = [];
    player.on('intervention', (prompt) => prompts.push(prompt));
    await waitFor(() => player.balance, 'the player snapshot');

    const state = expectOk(await officer.socket.emitWithAck('player:watch', { playerId }), 'officer watch');
    expectOk(await agent.socket.emitWithAck('player:watch', { playerId }), 'agent watch');
    const betReference = await stack.placeBet(playerId, BIG_STAKE_MINOR);

    const change = await waitFor(() => officer.received.flagChanges.find((entry) => entry.playerId === playerId), 'the new flag', 10_000);
    await waitFor(() => agent.received.flagChanges.find((entry) => entry.flagId === change.flagId), 'the new flag on the agent socket', 10_000);
    await waitFor(() => officer.received.balances.includes(20_000 - BIG_STAKE_MINOR), 'the balance push');
    await waitFor(() => officer.received.transactions.find((entry) => entry.reference === betReference), 'the bet push');
    await waitFor(() => officer.received.interventions.find((entry) => entry.flagId === change.flagId), 'the intervention push');
    await waitFor(() => prompts[0], 'the player prompt', 10_000);

    assert.equal(officerSession.canWatchQueue, true, 'a compliance officer receives the queue');
    assert.equal(state.balance.cashMinor, 20_000, 'the fresh state carries the wallet balance');
    assert.equal(state.transactions[0]?.kind, 'deposit', 'the fresh state lists the deposit');
    assert.equal(state.transactions[0]?.amountMinor, 20_000, 'the deposit amount comes from the wallet');
    assert.deepEqual(state.flags, [], 'the player had no flags');
    assert.equal(change.status, 'open', 'the flag opens');
    assert.equal(change.previousStatus, null, 'the flag is new');
    assert.equal(change.ruleId, 'big-stake', 'the flag names the rule');
    assert.equal(prompts[0]?.message.includes('50 EUR'), true, 'the player sees the rule message');

    const reviewed = expectOk(await officer.socket.emitWithAck('flag:review', { flagId: change.flagId }), 'review');
    const resolveTooEarly = await agent.socket.emitWithAck('flag:resolve', { flagId: change.flagId, note: 'agent tries' });
    const resolved = expectOk(
      await officer.socket.emitWithAck('flag:resolve', { flagId: change.flagId, note: 'Called the player; stake was intended.' }),
      'resolve',
    );
    const resolveAgain = await officer.socket.emitWithAck('flag:resolve', { flagId: change.flagId, note: 'again' });
    await waitFor(
      () => officer.received.flagChanges.find((entry) => entry.flagId === change.flagId && entry.status === 'resolved'),
      'the resolved push',
    );
    const detail = (await (
      await fetch(`${stack.rulesUrl}/flags/${change.flagId}`, { headers: { authorization: `Bearer ${await stack.signIn(OFFICER)}` } })
    ).json()) as { status: string; audit: { action: string; actor: string; note: string | null }[] };

    assert.equal(reviewed.status, 'in_review', 'review moves the flag to in_review');
    assert.equal(expectError(resolveTooEarly), 'BACKOFFICE_ERR_FORBIDDEN', 'the agent may not resolve');
    assert.equal(resolved.status, 'resolved', 'resolve moves the flag to resolved');
    assert.equal(resolved.note, 'Called the player; stake was intended.', 'the note comes back from the audit trail');
    assert.equal(resolved.changedBy, OFFICER.username, 'the officer is named as the author');
    assert.equal(expectError(resolveAgain), 'BACKOFFICE_ERR_CONFLICT', 'a resolved flag cannot be resolved again');
    assert.equal(detail.status, 'resolved', 'the rules service stores the resolution');
    assert.deepEqual(
      detail.audit.map((entry) => [entry.action, entry.actor]),
      [
        ['opened', detail.audit[0]?.actor],
        ['review_started', OFFICER.username],
        ['resolved', OFFICER.username],
      ],
      'the audit trail names the officer for review and resolution',
    );
  });

  test('page, client and sign-in served', async () => {
    const page = await fetch(`${gateway.url}/backoffice/`);
    const pageText = await page.text();
    const script = await fetch(`${gateway.url}/socket.io/socket.io.js`);
    await script.body?.cancel();
    const signIn = await fetch(`${gateway.url}/backoffice/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: OFFICER.username, password: OFFICER.password }),
    });
    const session = (await signIn.json()) as { token?: string; role?: string };
    const wrongPassword = await fetch(`${gateway.url}/backoffice/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: OFFICER.username, password: 'wrong-password' }),
    });
    await wrongPassword.body?.cancel();
    const missingFile = await fetch(`${gateway.url}/backoffice/../../package.json`);
    await missingFile.body?.cancel();

    assert.equal(page.status, 200, 'the page is served');
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/, 'as HTML');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/, 'with a content security policy');
    assert.match(pageText, /<title>Croupier back office<\/title>/, 'the page has its title');
    assert.equal(script.status, 200, 'the socket.io browser client is served');
    assert.equal(signIn.status, 200, 'the sign-in is forwarded to the rules service');
    assert.equal(session.role, 'compliance_officer', 'the role comes back');
    assert.equal(typeof session.token, 'string', 'a token comes back');
    assert.equal(wrongPassword.status, 401, 'a wrong password gets the rules service status');
    assert.equal(missingFile.status, 404, 'paths outside the page files are not served');
  });
});
