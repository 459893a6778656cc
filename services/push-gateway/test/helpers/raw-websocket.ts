import { PLAYER_NAMESPACE } from '@croupier/shared/contracts';
import { WebSocket } from 'ws';

/** A bare engine.io WebSocket client whose reading a test can pause, as a stalled reader would. */
export interface RawWebSocket {
  pauseReading(): void;
  resumeReading(): void;
  /** Resolves with the first message received after the call that matches. */
  waitForMessage(match: (message: string) => boolean, timeoutMs: number): Promise<string>;
  close(): void;
}

export async function openRawWebSocket(gatewayUrl: string, token: string): Promise<RawWebSocket> {
  const url = `${gatewayUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const socket = new WebSocket(url);
  let messageCount = 0;
  let lastMessage = '';
  const waiters = new Set<(message: string) => void>();
  socket.on('message', (data) => {
    const message = String(data);
    // Reply to engine.io pings so the server does not close the connection for a missed heartbeat.
    if (message === '2') socket.send('3');
    messageCount += 1;
    lastMessage = message;
    for (const waiter of waiters) waiter(message);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });

  // Only messages received after the call are matched; each is checked once, so
  // thousands of buffered pushes do not turn into quadratic work.
  const waitForMessage = (match: (message: string) => boolean, timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (message: string): void => {
        if (!match(message)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(message);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `no matching WebSocket message within ${timeoutMs} ms (${messageCount} received, last ${lastMessage.slice(0, 120)})`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
    });

  const connected = waitForMessage((message) => message.startsWith(`40${PLAYER_NAMESPACE},`), 5000);
  socket.send(`40${PLAYER_NAMESPACE},${JSON.stringify({ token })}`);
  await connected;

  // `ws` keeps its net.Socket private; pausing it stops reading from the kernel.
  const tcpSocket = (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  return {
    pauseReading: () => tcpSocket.pause(),
    resumeReading: () => tcpSocket.resume(),
    waitForMessage,
    close: () => socket.terminate(),
  };
}
