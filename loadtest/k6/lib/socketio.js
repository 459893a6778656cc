/**
 * A minimal socket.io v4 client (Engine.IO protocol 4) over a browser-style
 * WebSocket, for k6 scripts. It imports nothing, so the same file runs under
 * k6 with `k6/websockets` and under Node with the `ws` package.
 *
 * Supported: one namespace per connection, the `auth` handshake payload,
 * EVENT and ACK packets with JSON arguments, a pong for every server ping,
 * and closing when a ping is missed. Not supported: binary attachments, HTTP
 * long-polling and reconnection (a load script decides when to reconnect).
 *
 * NOTE: the Node tests run this file with `ws`, but it has not yet run under
 * k6. It avoids class fields and optional chaining in case k6's runtime lacks them.
 *
 * Wire format, as text frames:
 *   Engine.IO packet  = one type digit + payload
 *     0 open {"sid","pingInterval","pingTimeout",...}   server to client
 *     1 close, 2 ping, 3 pong, 4 message, 6 noop
 *   socket.io packet  = inside an Engine.IO `4` message:
 *     type digit, then "/namespace," unless the namespace is "/",
 *     then an optional ack id, then a JSON payload
 *     0 CONNECT  1 DISCONNECT  2 EVENT  3 ACK  4 CONNECT_ERROR
 *   Examples: `40/player,{"token":"..."}`, `42/player,["balance:changed",{...}]`,
 *   `42/player,7["balance:refresh"]` (ack id 7), `43/player,7[{...}]`.
 */

const ENGINE_OPEN = '0';
const ENGINE_CLOSE = '1';
const ENGINE_PING = '2';
const ENGINE_PONG = '3';
const ENGINE_MESSAGE = '4';
const ENGINE_NOOP = '6';

const PACKET_CONNECT = 0;
const PACKET_DISCONNECT = 1;
const PACKET_EVENT = 2;
const PACKET_ACK = 3;
const PACKET_CONNECT_ERROR = 4;

/** WebSocket close code of a normal closure (RFC 6455, section 7.4.1). */
const CLOSE_NORMAL = 1000;

/** Reasons passed to `disconnect` handlers. Except CONNECT_ERROR, the strings are those of socket.io-client 4.8. */
export const DisconnectReason = Object.freeze({
  CLIENT: 'io client disconnect',
  SERVER: 'io server disconnect',
  PING_TIMEOUT: 'ping timeout',
  TRANSPORT_CLOSE: 'transport close',
  TRANSPORT_ERROR: 'transport error',
  PARSE_ERROR: 'parse error',
  /** Reason after a CONNECT_ERROR packet. socket.io-client 4.8 emits only `connect_error` there, without `disconnect`. */
  CONNECT_ERROR: 'connect error',
});

/**
 * Builds the socket.io WebSocket URL from a gateway base URL, for example
 * `http://127.0.0.1:3000` to `ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket`.
 */
export function socketIoUrl(baseUrl) {
  const withoutSlash = String(baseUrl).replace(/\/+$/, '');
  const wsBase = withoutSlash.replace(/^http(s?):\/\//, 'ws$1://');
  return wsBase + '/socket.io/?EIO=4&transport=websocket';
}

/**
 * Encodes one socket.io packet as the text of an Engine.IO message frame.
 * `data` is serialized with JSON.stringify and omitted when undefined.
 */
export function encodePacket(type, namespace, data, ackId) {
  let text = ENGINE_MESSAGE + String(type);
  if (namespace !== '/') text += namespace + ',';
  if (ackId !== undefined) text += String(ackId);
  if (data !== undefined) text += JSON.stringify(data);
  return text;
}

/**
 * Decodes the payload of an Engine.IO message (the text after the leading `4`)
 * into `{ type, namespace, ackId, data }`. Throws an Error on a malformed packet
 * or on a binary attachment, which this client does not support.
 */
export function decodePacket(text) {
  const typeDigit = text.charAt(0);
  if (typeDigit === '5' || typeDigit === '6') {
    throw new Error('binary socket.io packets are not supported: ' + JSON.stringify(text.slice(0, 40)));
  }
  if (typeDigit < '0' || typeDigit > '4' || text.length === 0) {
    throw new Error('invalid socket.io packet type in ' + JSON.stringify(text.slice(0, 40)));
  }
  const type = Number(typeDigit);

  let position = 1;
  let namespace = '/';
  if (text.charAt(position) === '/') {
    const comma = text.indexOf(',', position);
    const end = comma === -1 ? text.length : comma;
    namespace = text.slice(position, end);
    position = comma === -1 ? end : end + 1;
  }

  let ackDigits = '';
  while (position < text.length && text.charAt(position) >= '0' && text.charAt(position) <= '9') {
    ackDigits += text.charAt(position);
    position += 1;
  }
  const ackId = ackDigits === '' ? undefined : Number(ackDigits);

  const payload = text.slice(position);
  const data = payload === '' ? undefined : JSON.parse(payload);
  return { type, namespace, ackId, data };
}

/**
 * One socket.io connection to one namespace.
 *
 * Options:
 *   - `socket`: a WebSocket that is open or opening, or
 *   - `url` and `WebSocket`: the constructor to create one with (the global
 *     `WebSocket` of `k6/websockets`, or `ws` in Node); `url` as built by socketIoUrl.
 *   - `namespace`: defaults to "/".
 *   - `auth`: the CONNECT payload, for example `{ token }`.
 *
 * Lifecycle events for `on`, besides the server's own events:
 *   - `connect` with `{ sid }` after the namespace accepts the connection;
 *   - `connect_error` with the server's error object, for example
 *     `{ message, data: { code } }`, after which the WebSocket is closed
 *     and `disconnect` follows with DisconnectReason.CONNECT_ERROR;
 *   - `disconnect` with one of DisconnectReason, once, when the connection ends;
 *   - `ping` after each server ping has been answered with a pong;
 *   - `error` with an Error for a malformed or unsupported frame, before
 *     `disconnect` with DisconnectReason.PARSE_ERROR.
 */
export class SocketIoClient {
  constructor(options) {
    if (options.socket === undefined && (options.url === undefined || options.WebSocket === undefined)) {
      throw new Error('SocketIoClient needs either `socket` or both `url` and `WebSocket`');
    }
    this.namespace = options.namespace === undefined ? '/' : options.namespace;
    this.auth = options.auth;
    this.socket = options.socket !== undefined ? options.socket : new options.WebSocket(options.url);

    /** Engine.IO session from the open packet: `{ sid, pingInterval, pingTimeout }`, in milliseconds. */
    this.engine = undefined;
    /** socket.io session id of the namespace connection, set on `connect`. */
    this.id = undefined;
    this.connected = false;
    this.closed = false;
    this.pingsReceived = 0;
    this.pongsSent = 0;

    this.handlers = {};
    this.pendingAcks = {};
    this.nextAckId = 0;
    this.pingTimer = undefined;

    this.socket.addEventListener('message', (event) => this.handleFrame(event.data));
    this.socket.addEventListener('close', () => this.finish(DisconnectReason.TRANSPORT_CLOSE));
    this.socket.addEventListener('error', () => this.finish(DisconnectReason.TRANSPORT_ERROR));
  }

  /** Registers `handler` for a server event or a lifecycle event; several handlers per name are allowed. */
  on(name, handler) {
    if (this.handlers[name] === undefined) this.handlers[name] = [];
    this.handlers[name].push(handler);
    return this;
  }

  /**
   * Sends an EVENT to the namespace. When the last argument is a function, it
   * is called with the server's acknowledgement arguments.
   * Throws an Error when the namespace is not connected.
   */
  emit(name, ...args) {
    if (!this.connected) {
      throw new Error(
        'cannot emit ' + JSON.stringify(name) + ': namespace ' + this.namespace + ' is not connected; emit after the `connect` event',
      );
    }
    let ackId;
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args.pop();
      ackId = this.nextAckId;
      this.nextAckId += 1;
      this.pendingAcks[ackId] = last;
    }
    this.socket.send(encodePacket(PACKET_EVENT, this.namespace, [name, ...args], ackId));
  }

  /**
   * Leaves the namespace with a DISCONNECT packet when connected, then closes
   * the WebSocket with code 1000. Calling it again does nothing.
   */
  close() {
    if (this.closed) return;
    if (this.connected) this.socket.send(encodePacket(PACKET_DISCONNECT, this.namespace));
    this.finish(DisconnectReason.CLIENT);
  }

  handleFrame(frame) {
    if (typeof frame !== 'string') {
      this.fail(new Error('binary WebSocket frames are not supported'));
      return;
    }
    const engineType = frame.charAt(0);
    const payload = frame.slice(1);

    if (engineType === ENGINE_OPEN) {
      this.engine = JSON.parse(payload);
      this.armPingTimer();
      this.socket.send(encodePacket(PACKET_CONNECT, this.namespace, this.auth));
    } else if (engineType === ENGINE_PING) {
      // In Engine.IO 4 the server sends the pings, and the client replies to each
      // with a pong and expects the next ping within pingInterval + pingTimeout.
      this.socket.send(ENGINE_PONG);
      this.pongsSent += 1;
      this.pingsReceived += 1;
      this.armPingTimer();
      this.dispatch('ping', []);
    } else if (engineType === ENGINE_MESSAGE) {
      let packet;
      try {
        packet = decodePacket(payload);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (packet.namespace === this.namespace) this.handlePacket(packet);
    } else if (engineType === ENGINE_CLOSE) {
      this.finish(DisconnectReason.TRANSPORT_CLOSE);
    } else if (engineType !== ENGINE_NOOP && engineType !== ENGINE_PONG) {
      this.fail(new Error('unknown Engine.IO packet type in ' + JSON.stringify(frame.slice(0, 40))));
    }
  }

  handlePacket(packet) {
    switch (packet.type) {
      case PACKET_CONNECT:
        this.connected = true;
        this.id = packet.data === undefined ? undefined : packet.data.sid;
        this.dispatch('connect', [packet.data]);
        break;
      case PACKET_CONNECT_ERROR:
        this.dispatch('connect_error', [packet.data]);
        this.finish(DisconnectReason.CONNECT_ERROR);
        break;
      case PACKET_DISCONNECT:
        this.connected = false;
        this.finish(DisconnectReason.SERVER);
        break;
      case PACKET_EVENT:
        this.handleEvent(packet);
        break;
      case PACKET_ACK:
        this.handleAck(packet);
        break;
      default:
        this.fail(new Error('unexpected socket.io packet type ' + packet.type));
    }
  }

  handleEvent(packet) {
    if (!Array.isArray(packet.data) || typeof packet.data[0] !== 'string') {
      this.fail(new Error('EVENT packet without an event name: ' + JSON.stringify(packet.data)));
      return;
    }
    const name = packet.data[0];
    const args = packet.data.slice(1);
    if (packet.ackId !== undefined) {
      // The server waits for this acknowledgement, so a handler should call the callback, even with no arguments.
      const ackId = packet.ackId;
      args.push((...ackArgs) => {
        if (this.connected) this.socket.send(encodePacket(PACKET_ACK, this.namespace, ackArgs, ackId));
      });
    }
    this.dispatch(name, args);
  }

  handleAck(packet) {
    const callback = packet.ackId === undefined ? undefined : this.pendingAcks[packet.ackId];
    if (callback === undefined) return;
    delete this.pendingAcks[packet.ackId];
    callback(...(Array.isArray(packet.data) ? packet.data : []));
  }

  dispatch(name, args) {
    const handlers = this.handlers[name];
    if (handlers === undefined) return;
    for (const handler of handlers.slice()) handler(...args);
  }

  armPingTimer() {
    if (this.pingTimer !== undefined) globalThis.clearTimeout(this.pingTimer);
    const timeoutMs = this.engine.pingInterval + this.engine.pingTimeout;
    this.pingTimer = globalThis.setTimeout(() => this.finish(DisconnectReason.PING_TIMEOUT), timeoutMs);
  }

  fail(error) {
    this.dispatch('error', [error]);
    this.finish(DisconnectReason.PARSE_ERROR);
  }

  /** Stops the ping timer, closes the WebSocket and notifies `disconnect` handlers once. */
  finish(reason) {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    if (this.pingTimer !== undefined) globalThis.clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
    this.pendingAcks = {};
    if (reason !== DisconnectReason.TRANSPORT_CLOSE && reason !== DisconnectReason.TRANSPORT_ERROR) {
      this.socket.close(CLOSE_NORMAL);
    }
    this.dispatch('disconnect', [reason]);
  }
}
