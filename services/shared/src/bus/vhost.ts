/**
 * A minimal client of the RabbitMQ management HTTP API for provisioning a
 * brand's vhost. The demo and the tests use it; in a cluster the Kubernetes
 * operator is meant to own this job (not built yet).
 */
export class ManagementApiError extends Error {
  readonly code = 'BUS_MANAGEMENT_API_FAILED';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ManagementApiError';
  }
}

interface ManagementTarget {
  baseUrl: string;
  authorization: string;
}

function parseManagementUrl(managementUrl: string): ManagementTarget {
  const url = new URL(managementUrl);
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return {
    baseUrl: url.toString().replace(/\/$/, ''),
    authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
  };
}

async function callManagementApi(
  managementUrl: string,
  method: 'GET' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Response> {
  const target = parseManagementUrl(managementUrl);
  const response = await fetch(`${target.baseUrl}${path}`, {
    method,
    headers: { authorization: target.authorization, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok && !(method === 'DELETE' && response.status === 404)) {
    const text = await response.text().catch(() => '');
    throw new ManagementApiError(`${method} ${path} failed with HTTP ${response.status}: ${text}`, response.status);
  }
  return response;
}

/** Creates the vhost if missing and grants `user` full permissions on it. */
export async function ensureVhost(managementUrl: string, vhost: string, user: string): Promise<void> {
  const encodedVhost = encodeURIComponent(vhost);
  await callManagementApi(managementUrl, 'PUT', `/api/vhosts/${encodedVhost}`, { description: `Croupier brand ${vhost}` });
  await callManagementApi(managementUrl, 'PUT', `/api/permissions/${encodedVhost}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
}

export async function deleteVhost(managementUrl: string, vhost: string): Promise<void> {
  await callManagementApi(managementUrl, 'DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`);
}

export interface QueueStats {
  messages: number;
  messagesReady: number;
  messagesUnacknowledged: number;
  consumers: number;
}

export async function getQueueStats(managementUrl: string, vhost: string, queue: string): Promise<QueueStats> {
  const response = await callManagementApi(
    managementUrl,
    'GET',
    `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`,
  );
  const body = (await response.json()) as Record<string, number | undefined>;
  return {
    messages: body.messages ?? 0,
    messagesReady: body.messages_ready ?? 0,
    messagesUnacknowledged: body.messages_unacknowledged ?? 0,
    consumers: body.consumers ?? 0,
  };
}

/** Builds the AMQP URL of a brand's vhost from the broker's base URL. */
export function vhostAmqpUrl(baseAmqpUrl: string, vhost: string): string {
  const url = new URL(baseAmqpUrl);
  url.pathname = `/${encodeURIComponent(vhost)}`;
  return url.toString();
}
