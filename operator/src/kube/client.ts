import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { resourcePath, type ObjectReference } from './resources.js';

/**
 * A small Kubernetes REST client on top of @kubernetes/client-node's
 * KubeConfig (which handles kubeconfig files, in-cluster service accounts,
 * certificates and token refresh). It speaks plain JSON, streams watches line
 * by line, and counts every request by verb so that the operator's load on
 * the API server shows up in its metrics and benchmarks.
 */

export const FIELD_MANAGER = 'croupier-operator';

export class KubeApiError extends Error {
  readonly code = 'OPERATOR_KUBE_API_FAILED';
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${method} ${path}: HTTP ${status} ${reason}: ${message}`);
    this.name = 'KubeApiError';
  }
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    finalizers?: string[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KubeList<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

interface RequestSpec {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Kubernetes verb, for the request counter; derived from the method when absent. */
  verb?: string;
  timeoutMs?: number;
}

const VERB_BY_METHOD: Record<string, string> = { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export class KubeClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly requests?: Counter<'verb' | 'resource' | 'code'>,
  ) {}

  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    return cluster.server.replace(/\/$/, '');
  }

  /** Returns the object, or undefined when it does not exist. */
  async get<T extends KubeObject>(ref: ObjectReference): Promise<T | undefined> {
    try {
      return await this.call<T>({ method: 'GET', path: resourcePath(ref) });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject>(collectionPath: string, query: Record<string, string | number | undefined> = {}): Promise<KubeList<T>> {
    return this.call<KubeList<T>>({ method: 'GET', path: collectionPath, query, verb: 'list' });
  }

  async create<T extends KubeObject>(collectionPath: string, object: T): Promise<T> {
    return this.call<T>({ method: 'POST', path: collectionPath, body: object });
  }

  async replace<T extends KubeObject>(object: T & { apiVersion: string; kind: string }): Promise<T> {
    return this.call<T>({ method: 'PUT', path: resourcePath(refOf(object)), body: object });
  }

  /**
   * Server-side apply with the operator's single field manager. `force`
   * takes over fields another manager changed, which is how drift is undone.
   */
  async apply<T extends KubeObject>(object: T & { apiVersion: string; kind: string }, subresource?: 'status'): Promise<T> {
    const path = resourcePath(refOf(object)) + (subresource === undefined ? '' : `/${subresource}`);
    return this.call<T>({
      method: 'PATCH',
      path,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: object,
      contentType: 'application/apply-patch+yaml',
    });
  }

  async mergePatch<T extends KubeObject>(ref: ObjectReference, patch: unknown, subresource?: 'status'): Promise<T> {
    const path = resourcePath(ref) + (subresource === undefined ? '' : `/${subresource}`);
    return this.call<T>({ method: 'PATCH', path, body: patch, contentType: 'application/merge-patch+json' });
  }

  /** Deletes the object; a missing object is not an error. */
  async delete(ref: ObjectReference, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<void> {
    try {
      await this.call({ method: 'DELETE', path: resourcePath(ref), body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return;
      throw error;
    }
  }

  async call<T>(spec: RequestSpec): Promise<T> {
    const response = await this.send(spec);
    const text = await readBody(response);
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text === '' ? undefined : JSON.parse(text)) as T;
    throw toApiError(spec, status, text);
  }

  /**
   * Opens a watch and calls `onEvent` for every event until the server ends
   * the stream, `signal` aborts, or `onEvent` throws. Resolves when the stream
   * ends normally and rejects on a transport or HTTP error.
   */
  async watch<T>(
    collectionPath: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.send({ method: 'GET', path: collectionPath, query: { ...query, watch: true }, verb: 'watch' }, signal);
    const status = response.statusCode ?? 0;
    if (status !== 200) throw toApiError({ method: 'GET', path: collectionPath }, status, await readBody(response));
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      const abort = (): void => {
        response.destroy();
        resolve();
      };
      signal.addEventListener('abort', abort, { once: true });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line === '') continue;
          try {
            onEvent(JSON.parse(line) as WatchEvent<T>);
          } catch (error) {
            response.destroy();
            signal.removeEventListener('abort', abort);
            reject(error as Error);
            return;
          }
        }
      });
      response.on('end', () => {
        signal.removeEventListener('abort', abort);
        resolve();
      });
      response.on('error', (error) => {
        signal.removeEventListener('abort', abort);
        if (signal.aborted) resolve();
        else reject(error);
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(spec: RequestSpec, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(this.server + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options: RequestOptions = { method: spec.method, headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    options.headers = {
      ...options.headers,
      accept: 'application/json',
      'user-agent': 'croupier-operator',
      // An explicit length: Node does not frame a DELETE body on its own, and an
      // unframed body corrupts the next request on the kept-alive connection.
      ...(payload === undefined ? {} : { 'content-type': spec.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }),
    };
    const verb = spec.verb ?? VERB_BY_METHOD[spec.method] ?? spec.method.toLowerCase();
    const resource = resourceOfPath(spec.path);
    const secure = url.protocol === 'https:';
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        { ...options, ...(secure ? { agent: this.agent } : {}), signal, timeout: spec.timeoutMs ?? (verb === 'watch' ? 0 : 15_000) },
        (response) => {
          this.requests?.inc({ verb, resource, code: String(response.statusCode ?? 0) });
          resolve(response);
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${spec.method} ${spec.path} timed out`)));
      request.on('error', (error) => {
        this.requests?.inc({ verb, resource, code: 'error' });
        reject(error);
      });
      request.end(payload);
    });
  }
}

function refOf(object: KubeObject & { apiVersion: string; kind: string }): ObjectReference {
  return { apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name };
}

/** Returns the resource part of an API path, such as `deployments` or `tenants`, for metric labels. */
function resourceOfPath(apiPath: string): string {
  const segments = apiPath.split('?')[0]!.split('/').filter((segment) => segment !== '');
  const start = segments[0] === 'api' ? 2 : 3;
  const rest = segments.slice(start);
  if (rest[0] === 'namespaces' && rest.length > 2) return rest[2]!;
  return rest[0] ?? 'unknown';
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function toApiError(spec: Pick<RequestSpec, 'method' | 'path'>, status: number, text: string): KubeApiError {
  let reason = 'Unknown';
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason ?? reason;
    message = parsed.message ?? message;
  } catch {
    // Not a Status object; keep the raw text.
  }
  return new KubeApiError(spec.method, spec.path, status, reason, message);
}
