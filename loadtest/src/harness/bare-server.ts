/**
 * A bare socket.io server for the load test's comparison run: the same
 * `/player` events and the same Redis adapter as the push gateway, but no
 * wallet, no bus, no token check and no deduplication. `POST /emit` bumps a
 * player's version in Redis and broadcasts `balance:changed` to the player's
 * room at once, so the run measures the transport alone.
 *
 * NOTE: it trusts `auth.token` as the player id. It exists only for
 * measurements on loopback and must never face real clients.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import {
  formatIsoMicros,
  nowEpochMicros,
  PLAYER_NAMESPACE,
  playerRoom,
  type BalanceUpdate,
  type PlayerClientToServerEvents,
  type PlayerServerToClientEvents,
} from '@croupier/shared/contracts';

const BODY_BYTES_MAX = 4096;

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`bare-server: missing environment variable ${name}; the load-test harness sets it`);
    process.exit(2);
  }
  return value;
}

const port = Number(requiredEnv('PORT'));
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = requiredEnv('REDIS_URL');
const keyPrefix = requiredEnv('BARE_KEY_PREFIX');
const versionKey = (playerId: string): string => `${keyPrefix}version:${playerId}`;

const commands = new Redis(redisUrl);
const adapterPub = new Redis(redisUrl);
const adapterSub = new Redis(redisUrl);

const httpServer = createServer((request, response) => {
  void route(request, response).catch((error: unknown) => {
    console.error(`bare-server: ${request.method} ${request.url} failed: ${(error as Error).message}`);
    reply(response, 500, { error: { code: 'BARE_ERR_INTERNAL', message: (error as Error).message } });
  });
});
const io = new Server<PlayerClientToServerEvents, PlayerServerToClientEvents>(httpServer, {
  transports: ['websocket'],
  adapter: createAdapter(adapterPub, adapterSub, { key: `${keyPrefix}socket.io` }),
});
const players = io.of(PLAYER_NAMESPACE);

players.on('connection', (socket) => {
  const token: unknown = socket.handshake.auth.token;
  if (typeof token !== 'string' || token === '') {
    socket.disconnect(true);
    return;
  }
  // Join before reading the version, as the gateway does, so no broadcast falls between the two.
  void socket.join(playerRoom(token));
  void commands.get(versionKey(token)).then((version) => {
    socket.emit('balance:snapshot', {
      playerId: token,
      currency: 'EUR',
      cashMinor: 0,
      bonusMinor: 0,
      balanceVersion: Number(version ?? 0),
      takenAt: formatIsoMicros(nowEpochMicros()),
    });
  });
});

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === 'GET' && request.url === '/readyz') {
    reply(response, commands.status === 'ready' ? 200 : 503, { status: commands.status });
    return;
  }
  if (request.method !== 'POST' || request.url !== '/emit') {
    console.error(`bare-server: route not found: ${request.method} ${request.url}`);
    reply(response, 404, { error: { code: 'BARE_ERR_NOT_FOUND', message: `route not found: ${request.method} ${request.url}; the routes are POST /emit and GET /readyz` } });
    return;
  }
  const body = await readBody(request);
  const playerId = (body as { playerId?: unknown } | undefined)?.playerId;
  if (typeof playerId !== 'string' || playerId === '') {
    console.error(`bare-server: invalid POST /emit body, playerId ${JSON.stringify(playerId)}`);
    reply(response, 400, { error: { code: 'BARE_ERR_PLAYER_ID', message: 'invalid body: expected {"playerId": "<non-empty string>"}' } });
    return;
  }
  const balanceVersion = await commands.incr(versionKey(playerId));
  const update: BalanceUpdate = {
    eventId: `${playerId}:${balanceVersion}`,
    playerId,
    currency: 'EUR',
    cashMinor: 0,
    bonusMinor: 0,
    balanceVersion,
    reason: 'bare',
    committedAt: formatIsoMicros(nowEpochMicros()),
  };
  players.to(playerRoom(playerId)).emit('balance:changed', update);
  reply(response, 200, { playerId, balanceVersion });
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > BODY_BYTES_MAX) return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function reply(response: ServerResponse, status: number, body: object): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
}

httpServer.listen(port, host);

function stop(): void {
  void io.close();
  commands.disconnect();
  adapterPub.disconnect();
  adapterSub.disconnect();
  httpServer.close(() => process.exit(0));
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
