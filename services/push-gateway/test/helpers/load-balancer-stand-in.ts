import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Stand-in for the Kubernetes Service in front of the gateway replicas. It is
 * a TCP proxy on 127.0.0.1 that sends each new connection to the first
 * backend whose `/readyz` returned 200 at the last probe, the way endpoints
 * drop a pod whose readiness fails. Tests also use it to cut or stall
 * connections, as a network failure or congestion would.
 */
export interface LoadBalancerStandIn {
  url: string;
  /** Cuts every proxied connection at once. */
  dropConnections(): void;
  /** Stops forwarding what the backends send on open connections, as a congested network would. */
  pauseResponses(): void;
  resumeResponses(): void;
  close(): Promise<void>;
}

const PROBE_INTERVAL_MS = 50;

export async function startLoadBalancerStandIn(backendPorts: number[]): Promise<LoadBalancerStandIn> {
  const ready = new Set<number>();
  /** Backend socket to the client socket it forwards to. */
  const pairs = new Map<Socket, Socket>();

  const probe = async (): Promise<void> => {
    await Promise.all(
      backendPorts.map(async (port) => {
        const isReady = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(500) })
          .then((response) => response.status === 200)
          .catch(() => false);
        if (isReady) ready.add(port);
        else ready.delete(port);
      }),
    );
  };
  await probe();
  const probeTimer = setInterval(() => void probe(), PROBE_INTERVAL_MS);

  const server = createServer((client) => {
    const port = backendPorts.find((candidate) => ready.has(candidate));
    if (port === undefined) {
      client.destroy();
      return;
    }

    const backend = createConnection({ host: '127.0.0.1', port });
    pairs.set(backend, client);
    for (const socket of [client, backend]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        pairs.delete(backend);
        client.destroy();
        backend.destroy();
      });
    }
    client.pipe(backend);
    backend.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const destroyAll = (): void => {
    for (const [backend, client] of pairs) {
      backend.destroy();
      client.destroy();
    }
  };

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropConnections: destroyAll,
    pauseResponses: () => {
      for (const [backend, client] of pairs) {
        backend.unpipe(client);
        backend.pause();
      }
    },
    resumeResponses: () => {
      for (const [backend, client] of pairs) backend.pipe(client);
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(probeTimer);
        destroyAll();
        server.close(() => resolve());
      }),
  };
}
