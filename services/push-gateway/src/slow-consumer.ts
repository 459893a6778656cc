import type { SlowConsumerConfig } from './config.js';
import type { PlayerSocket } from './socket-types.js';

export interface OutgoingBufferSize {
  /** engine.io packets queued on the connection and not yet handed to the transport. */
  packets: number;
  /** Bytes the WebSocket has accepted but not yet written to the kernel, 0 for long-polling. */
  bytes: number;
}

/**
 * engine.io keeps `writeBuffer` private in its type declarations, and the
 * WebSocket transport keeps its `ws` instance private too, so both are read
 * through this structural view (engine.io 6.6).
 */
interface EngineSocketInternals {
  writeBuffer?: unknown[];
  transport?: { name?: string; socket?: { bufferedAmount?: number } };
}

/** The part of a socket of either namespace that the buffer checks read. */
type WatchedSocket = Pick<PlayerSocket, 'conn'>;

export function measureOutgoingBuffer(socket: WatchedSocket): OutgoingBufferSize {
  const engineSocket = socket.conn as unknown as EngineSocketInternals;
  const transport = engineSocket.transport;
  const bytes = transport?.name === 'websocket' ? (transport.socket?.bufferedAmount ?? 0) : 0;
  return { packets: engineSocket.writeBuffer?.length ?? 0, bytes };
}

/**
 * Calls `onOverflow` once when the connection's outgoing buffer passes a
 * limit. While the WebSocket is still writing one batch, engine.io keeps the
 * next packets in its write buffer, so for a stalled WebSocket reader the
 * packet limit usually trips first and the byte limit catches large batches.
 * A burst of more than `bufferPacketsMax` pushes to one player within one
 * event-loop turn also trips the packet limit, even for a reader that keeps up. The check runs as each packet is queued (engine.io `packetCreate`),
 * so an idle connection costs nothing and a stalled reader is caught by the
 * first push that would exceed the limit. `onOverflow` runs on the next turn
 * of the event loop, outside engine.io's send path.
 */
export function watchOutgoingBuffer(
  socket: WatchedSocket,
  limits: SlowConsumerConfig,
  onOverflow: (size: OutgoingBufferSize) => void,
): () => void {
  let hasOverflowed = false;

  const onPacketCreate = (): void => {
    if (hasOverflowed) return;

    const size = measureOutgoingBuffer(socket);
    // packetCreate fires before the new packet joins the buffer, hence the +1.
    if (size.packets + 1 <= limits.bufferPacketsMax && size.bytes <= limits.bufferBytesMax) return;

    hasOverflowed = true;
    setImmediate(() => onOverflow({ packets: size.packets + 1, bytes: size.bytes }));
  };

  socket.conn.on('packetCreate', onPacketCreate);
  return () => socket.conn.off('packetCreate', onPacketCreate);
}
