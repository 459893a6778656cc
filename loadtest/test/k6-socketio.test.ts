import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BalanceSnapshot, BalanceUpdate } from '@croupier/shared/contracts';
import { infraSettings, uniqueBrand } from '@croupier/shared/testing';
import WebSocket from 'ws';
import {
  decodePacket,
  DisconnectReason,
  encodePacket,
  SocketIoClient,
  socketIoUrl,
  type DisconnectReasonValue,
  type WebSocketLike,
} from '../k6/lib/socketio.js';
import { BrandStack, removeBrandData } from '../src/stack/brand-stack.js';
import { REPOSITORY_ROOT } from '../src/stack/service-process.js';

const EVENT_WAIT_MS = 10_000;

/** A client on a `ws` WebSocket that records every frame it sends. */
interface RecordedConnection {
  client: SocketIoClient;
  webSocket: WebSocket;
  sentFrames: string[];
}

function connectRecorded(gatewayUrl: string, token: string): RecordedConnection {
  const webSocket = new WebSocket(socketIoUrl(gatewayUrl));
  const sentFrames: string[] = [];
  const recordingSocket: WebSocketLike = {
    addEventListener: (type: 'message' | 'close' | 'error', listener: (event: { data: unknown }) => void) =>
      webSocket.addEventListener(type as 'message', listener),
    send: (data: string) => {
      sentFrames.push(data);
      webSocket.send(data);
    },
    close: (code?: number) => webSocket.close(code),
  };
  const client = new SocketIoClient({ socket: recordingSocket, namespace: '/player', auth: { token } });
  return { client, webSocket, sentFrames };
}

/** Resolves with the first argument of the next `name` event that satisfies `accept`, or rejects after `timeoutMs`. */
function nextEvent<T>(client: SocketIoClient, name: string, accept: (value: T) => boolean = () => true, timeoutMs = EVENT_WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${name}`));
    }, timeoutMs);
    client.on(name, (value: T) => {
      if (settled || !accept(value)) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A WebSocket stand-in with no server, for the timeout path a live gateway cannot be made to take. */
class ScriptedSocket implements WebSocketLike {
  readonly sentFrames: string[] = [];
  closeCode: number | undefined;
  private readonly messageListeners: Array<(event: { data: unknown }) => void> = [];

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    if (type === 'message') this.messageListeners.push(listener);
  }

  send(data: string): void {
    this.sentFrames.push(data);
  }

  close(code?: number): void {
    this.closeCode = code;
  }

  receive(frame: string): void {
    for (const listener of this.messageListeners) listener({ data: frame });
  }
}

describe('socket.io framing', () => {
  it('decodes namespace, ack id and payload', () => {
    assert.deepEqual(decodePacket('2/player,7["balance:refresh"]'), { type: 2, namespace: '/player', ackId: 7, data: ['balance:refresh'] });
    assert.deepEqual(decodePacket('0{"sid":"abc"}'), { type: 0, namespace: '/', ackId: undefined, data: { sid: 'abc' } });
    assert.deepEqual(decodePacket('1/player,'), { type: 1, namespace: '/player', ackId: undefined, data: undefined });
  });

  it('rejects binary and unknown packets', () => {
    assert.throws(() => decodePacket('51-/player,["x",{"_placeholder":true,"num":0}]'), /binary socket\.io packets are not supported/);
    assert.throws(() => decodePacket('9'), /invalid socket\.io packet type/);
    assert.throws(() => decodePacket(''), /invalid socket\.io packet type/);
  });

  it('encodes the default namespace without a prefix', () => {
    assert.equal(encodePacket(0, '/', { token: 't' }), '40{"token":"t"}');
    assert.equal(encodePacket(2, '/player', ['balance:refresh'], 3), '42/player,3["balance:refresh"]');
    assert.equal(encodePacket(1, '/player'), '41/player,');
  });

  it('builds the WebSocket URL', () => {
    assert.equal(socketIoUrl('http://127.0.0.1:3000/'), 'ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket');
    assert.equal(socketIoUrl('https://gw.example'), 'wss://gw.example/socket.io/?EIO=4&transport=websocket');
  });

  it('closes after a missed server ping', async () => {
    const socket = new ScriptedSocket();
    const client = new SocketIoClient({ socket, namespace: '/player', auth: { token: 't' } });
    const disconnected = nextEvent<DisconnectReasonValue>(client, 'disconnect', () => true, 2_000);
    const startedAt = Date.now();

    socket.receive('0{"sid":"s1","upgrades":[],"pingInterval":60,"pingTimeout":40,"maxPayload":1000000}');
    socket.receive('40/player,{"sid":"n1"}');
    assert.equal(client.connected, true);

    assert.equal(await disconnected, DisconnectReason.PING_TIMEOUT);
    assert.ok(Date.now() - startedAt >= 95, 'the client waits pingInterval + pingTimeout before giving up');
    assert.equal(socket.closeCode, 1000);
    assert.deepEqual(socket.sentFrames, ['40/player,{"token":"t"}']);
  });
});

describe('k6 socket.io client against a live gateway', () => {
  const infra = infraSettings();
  const brand = uniqueBrand('k6sio');
  const playerId = 'k6-socketio-player';
  let stack: BrandStack;
  let gatewayUrl: string;
  const openConnections: RecordedConnection[] = [];

  const connect = (token: string): RecordedConnection => {
    const connection = connectRecorded(gatewayUrl, token);
    openConnections.push(connection);
    return connection;
  };

  before(async () => {
    stack = await BrandStack.start({ brand, infra, gatewayReplicas: 1, logDirectory: path.join(REPOSITORY_ROOT, '.infra', 'test-logs') });
    gatewayUrl = stack.gatewayUrls[0] as string;
    const created = await stack.walletApi.createPlayer(playerId, 'EUR');
    assert.equal(created.statusCode, 201, `creating ${playerId}`);
  });

  after(async () => {
    for (const connection of openConnections) connection.client.close();
    const exitCodes = await stack?.stop();
    await removeBrandData(infra, brand);
    assert.deepEqual(exitCodes, [0, 0], 'the gateway and the wallet exit 0 on SIGTERM');
  });

  it('receives the snapshot on connect', async () => {
    const { client, sentFrames } = connect(await stack.signToken(playerId));
    const snapshot = await nextEvent<BalanceSnapshot>(client, 'balance:snapshot');
    const walletBalance = await stack.walletApi.snapshot(playerId);

    assert.equal(client.connected, true);
    assert.equal(typeof client.id, 'string');
    assert.equal(snapshot.playerId, playerId);
    assert.equal(snapshot.currency, 'EUR');
    assert.equal(snapshot.balanceVersion, walletBalance.body.balanceVersion);
    assert.equal(snapshot.cashMinor, walletBalance.body.cashMinor);
    assert.match(sentFrames[0] ?? '', /^40\/player,\{"token":"[^"]+"\}$/, 'the first frame is CONNECT with the token');
    client.close();
  });

  it('receives balance:changed after a deposit', async () => {
    const { client } = connect(await stack.signToken(playerId));
    const snapshot = await nextEvent<BalanceSnapshot>(client, 'balance:snapshot');

    const deposit = await stack.walletApi.depositCompleted(playerId, `k6-dep-${randomUUID()}`, '12.34', 'EUR');
    assert.equal(deposit.statusCode, 200, `deposit reply ${JSON.stringify(deposit.body)}`);
    const update = await nextEvent<BalanceUpdate>(client, 'balance:changed', (change) => change.balanceVersion === deposit.body.balanceVersion);

    assert.equal(update.playerId, playerId);
    assert.equal(update.cashMinor, snapshot.cashMinor + 1234);
    assert.ok(update.balanceVersion > snapshot.balanceVersion);
    client.close();
  });

  it('receives an ack for balance:refresh', async () => {
    const { client, sentFrames } = connect(await stack.signToken(playerId));
    await nextEvent<BalanceSnapshot>(client, 'balance:snapshot');

    const result = await new Promise<{ snapshot?: BalanceSnapshot; error?: string }>((resolve) => client.emit('balance:refresh', resolve));

    assert.equal(result.error, undefined);
    assert.equal(result.snapshot?.playerId, playerId);
    assert.ok(sentFrames.includes('42/player,0["balance:refresh"]'), `EVENT with ack id 0 in ${JSON.stringify(sentFrames)}`);
    client.close();
  });

  it('answers pings and stays connected', async () => {
    const { client, sentFrames } = connect(await stack.signToken(playerId));
    await nextEvent<BalanceSnapshot>(client, 'balance:snapshot');
    const engine = client.engine;
    assert.ok(engine !== undefined, 'the open packet was received');
    // The gateway keeps socket.io's defaults (pingInterval 25 s, pingTimeout 20 s),
    // so this test takes about two ping intervals.
    const pingWaitMs = engine.pingInterval + engine.pingTimeout;

    await nextEvent(client, 'ping', () => true, pingWaitMs);
    assert.equal(client.pongsSent, 1);
    assert.ok(sentFrames.includes('3'), 'a pong frame was sent');

    // The server sends the next ping only after it received the pong; without
    // the pong it closes the connection after pingTimeout instead.
    await nextEvent(client, 'ping', () => true, pingWaitMs);
    assert.equal(client.pongsSent, 2);
    assert.equal(client.connected, true);
    client.close();
  });

  it('gets CONNECT_ERROR for an invalid token', async () => {
    const { client, webSocket } = connect('not-a-player-token');
    const closed = once(webSocket, 'close');
    const disconnected = nextEvent<DisconnectReasonValue>(client, 'disconnect');

    const error = await nextEvent<{ message: string; data?: { code?: string } }>(client, 'connect_error');

    assert.equal(error.data?.code, 'GATEWAY_ERR_TOKEN_INVALID');
    assert.equal(await disconnected, DisconnectReason.CONNECT_ERROR);
    assert.equal(client.connected, false);
    await closed;
  });

  it('closes cleanly', async () => {
    const { client, webSocket, sentFrames } = connect(await stack.signToken(playerId));
    await nextEvent<BalanceSnapshot>(client, 'balance:snapshot');
    const closeEvent = new Promise<WebSocket.CloseEvent>((resolve) => webSocket.addEventListener('close', resolve));
    const disconnected = nextEvent<DisconnectReasonValue>(client, 'disconnect');

    client.close();

    assert.equal(await disconnected, DisconnectReason.CLIENT);
    assert.equal(sentFrames.at(-1), '41/player,', 'DISCONNECT is the last frame');
    const event = await closeEvent;
    assert.equal(event.code, 1000);
    assert.equal(event.wasClean, true);
  });
});
