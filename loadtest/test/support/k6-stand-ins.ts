/**
 * Stand-ins for k6's built-in modules, so the k6 scripts can be loaded and
 * partly run in Node. k6 itself cannot run here (its licence keeps it off this
 * project's machines), so these tests check what Node can check: the module
 * graph, the options the scripts compute, and the wallet and socket.io calls
 * against real services. The stand-ins implement only what the scripts use.
 *
 * A loader hook maps each `k6/...` import to a module that re-exports the
 * object registered here under that name. Those modules are evaluated once,
 * so every stand-in forwards to `k6Context`, which tests replace per case.
 */

import { createHmac } from 'node:crypto';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export interface RecordedMetric {
  type: MetricType;
  isTime: boolean;
  samples: Array<{ value: number; tags?: Record<string, string> }>;
}

export interface StandInResponse {
  status: number;
  body: string | null;
  error: string;
  json(): unknown;
}

export interface HttpRequestRecord {
  method: string;
  url: string;
  body: string | null;
  headers: Record<string, string>;
}

/** State that the stand-ins read on every call. Tests set it before they load or run a script. */
export interface K6Context {
  metrics: Map<string, RecordedMetric>;
  requests: HttpRequestRecord[];
  scenario: { name: string; iterationInTest: number; startTime: number };
  WebSocket: unknown;
}

export const k6Context: K6Context = {
  metrics: new Map(),
  requests: [],
  scenario: { name: 'default', iterationInTest: 0, startTime: Date.now() },
  WebSocket: undefined,
};

const HTTP_TIMEOUT_MS = 15_000;

// k6's HTTP calls block the VU, so the stand-in blocks too: a worker thread
// runs fetch and the main thread waits on a shared flag with Atomics.wait.
const HTTP_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', async ({ flag, request }) => {
  let result;
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body === null ? undefined : request.body,
      signal: AbortSignal.timeout(${HTTP_TIMEOUT_MS}),
    });
    result = { status: response.status, body: await response.text(), error: '' };
  } catch (error) {
    result = { status: 0, body: null, error: String(error && error.message) };
  }
  workerData.port.postMessage(result);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

let httpWorker: { worker: Worker; port: MessagePortLike } | undefined;

interface MessagePortLike {
  close(): void;
}

function blockingFetch(request: HttpRequestRecord): StandInResponse {
  if (httpWorker === undefined) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(HTTP_WORKER_SOURCE, { eval: true, workerData: { port: port2 }, transferList: [port2] });
    worker.unref();
    httpWorker = { worker, port: port1 };
  }
  const flag = new Int32Array(new SharedArrayBuffer(4));
  httpWorker.worker.postMessage({ flag, request });
  if (Atomics.wait(flag, 0, 0, HTTP_TIMEOUT_MS + 5_000) === 'timed-out') {
    throw new Error(`stand-in HTTP ${request.method} ${request.url} timed out after ${HTTP_TIMEOUT_MS + 5_000} ms waiting for the worker thread`);
  }
  const message = receiveMessageOnPort(httpWorker.port as Parameters<typeof receiveMessageOnPort>[0]);
  const result = message?.message as { status: number; body: string | null; error: string };
  return {
    ...result,
    json: () => JSON.parse(result.body ?? ''),
  };
}

/** Stops the HTTP worker. Call it in the `after` hook of a test that used HTTP. */
export async function stopK6StandIns(): Promise<void> {
  if (httpWorker === undefined) return;
  httpWorker.port.close();
  await httpWorker.worker.terminate();
  httpWorker = undefined;
}

interface RequestParams {
  headers?: Record<string, string>;
}

function request(method: string, url: string, body: string | null | undefined, params: RequestParams = {}): StandInResponse {
  const record: HttpRequestRecord = { method, url, body: body ?? null, headers: params.headers ?? {} };
  k6Context.requests.push(record);
  return blockingFetch(record);
}

type BatchRequest = { method: string; url: string; body?: string | null; params?: RequestParams };

function defineMetric(type: MetricType) {
  return class {
    readonly name: string;
    constructor(name: string, isTime = false) {
      this.name = name;
      k6Context.metrics.set(name, { type, isTime, samples: [] });
    }

    add(value: number | boolean, tags?: Record<string, string>): void {
      k6Context.metrics.get(this.name)?.samples.push({ value: Number(value), ...(tags === undefined ? {} : { tags }) });
    }
  };
}

const standIns: Record<string, Record<string, unknown>> = {
  k6: {
    check: (value: unknown, checks: Record<string, (value: unknown) => boolean>) => Object.values(checks).every((checkFn) => checkFn(value)),
    sleep: () => undefined,
  },
  'k6/http': {
    default: {
      request,
      get: (url: string, params?: RequestParams) => request('GET', url, null, params),
      post: (url: string, body?: string | null, params?: RequestParams) => request('POST', url, body, params),
      batch: (requests: BatchRequest[]) => requests.map((item) => request(item.method, item.url, item.body, item.params)),
    },
  },
  'k6/crypto': {
    default: {
      hmac: (algorithm: string, secret: string, data: string, encoding: 'hex' | 'base64') =>
        createHmac(algorithm, secret).update(data).digest(encoding),
    },
  },
  'k6/metrics': {
    Counter: defineMetric('counter'),
    Gauge: defineMetric('gauge'),
    Rate: defineMetric('rate'),
    Trend: defineMetric('trend'),
  },
  'k6/execution': {
    default: {
      get scenario() {
        return k6Context.scenario;
      },
    },
  },
  'k6/websockets': {
    WebSocket: function WebSocketStandIn(url: string) {
      const Constructor = k6Context.WebSocket as (new (url: string) => object) | undefined;
      if (Constructor === undefined) throw new Error('no WebSocket stand-in set in k6Context.WebSocket');
      return new Constructor(url);
    },
  },
};

// The hooks run on Node's loader thread, so they only map names, and the stand-in objects stay on this thread.
const HOOKS_SOURCE = `
let exportsBySpecifier = {};
export async function initialize(data) { exportsBySpecifier = data.exports; }
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(exportsBySpecifier, specifier)) return { url: 'k6-stand-in:' + specifier, shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.startsWith('k6-stand-in:')) return next(url, context);
  const specifier = url.slice('k6-stand-in:'.length);
  const lines = ['const standIn = globalThis.__k6StandIns[' + JSON.stringify(specifier) + '];'];
  for (const name of exportsBySpecifier[specifier]) {
    lines.push(name === 'default' ? 'export default standIn.default;' : 'export const ' + name + ' = standIn[' + JSON.stringify(name) + '];');
  }
  return { format: 'module', source: lines.join('\\n'), shortCircuit: true };
}
`;

let registered = false;

/** Registers the loader hook once per process. */
export function registerK6StandIns(): void {
  if (registered) return;
  registered = true;
  (globalThis as Record<string, unknown>).__k6StandIns = standIns;
  const exports = Object.fromEntries(Object.entries(standIns).map(([specifier, values]) => [specifier, Object.keys(values)]));
  register(`data:text/javascript,${encodeURIComponent(HOOKS_SOURCE)}`, pathToFileURL('./'), { data: { exports } });
}

let loadCount = 0;

/**
 * Evaluates a k6 script afresh with `env` as `__ENV` and returns its exports
 * and the metrics its top level defined. Modules it imports are evaluated only
 * once per process, as they would be once per VU in k6.
 */
export async function loadK6Script(scriptPath: string, env: Record<string, string>): Promise<{ exports: Record<string, unknown>; metrics: Map<string, RecordedMetric> }> {
  registerK6StandIns();
  k6Context.metrics = new Map();
  const globals = globalThis as Record<string, unknown>;
  globals.__ENV = { ...env };
  globals.__VU = 0;
  loadCount += 1;
  const exports = (await import(`${pathToFileURL(scriptPath).href}?load=${loadCount}`)) as Record<string, unknown>;
  return { exports, metrics: k6Context.metrics };
}
