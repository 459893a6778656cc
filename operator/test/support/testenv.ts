import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findFreePort } from '@croupier/shared/testing';

const TESTENV_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testenv');
const runFile = promisify(execFile);

/** A running kube-apiserver with its etcd, both on loopback, for one test file. */
export interface TestEnvironment {
  /** Base URL of the API server, such as `https://127.0.0.1:41234`. */
  apiServerUrl: string;
  /** Bearer token of a `system:masters` user. */
  adminToken: string;
  /**
   * Calls the API server as the admin user, or anonymously when `token` is null.
   * TLS is self-signed, so certificate checks are off for this client only.
   */
  request(method: string, apiPath: string, body?: unknown, contentType?: string, token?: string | null): Promise<{ status: number; body: unknown }>;
  /**
   * Stops the API server, runs `whileDown` (etcd keeps running), and starts it
   * again on the same port with the same state, waiting until it is ready.
   */
  restartApiServer(whileDown?: () => Promise<void>): Promise<void>;
  /**
   * Writes a key to etcd directly and compacts its history up to that write,
   * so every older resourceVersion is gone: a watch resuming from one gets
   * `410 Gone`, as after a long disconnection in a real cluster.
   */
  compactEtcd(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestEnvironmentOptions {
  readyTimeoutMs?: number;
  /**
   * With the watch cache off, the API server serves watches straight from
   * etcd, so etcd compaction decides which resourceVersions are too old.
   */
  watchCache?: boolean;
  /**
   * Starts etcd and the API server in process groups of their own, so that a
   * Ctrl-C in the terminal reaches only the caller, which then stops them in
   * order. Tests leave this off so that the servers die with the test runner.
   */
  detached?: boolean;
}

/**
 * Builds the binaries when the cache lacks them (see operator/testenv/build.sh),
 * then starts etcd and kube-apiserver on free loopback ports and waits until
 * the API server reports ready.
 */
export async function startTestEnvironment(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const { stdout } = await runFile(path.join(TESTENV_DIR, 'build.sh'), { maxBuffer: 1024 * 1024, timeout: 30 * 60_000 });
  const binDir = stdout.trim().split('\n').at(-1) as string;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-testenv-'));
  const adminToken = randomBytes(16).toString('hex');
  writeServiceAccountKeys(stateDir);
  writeFileSync(path.join(stateDir, 'tokens.csv'), `${adminToken},admin,admin,system:masters\n`);

  const [etcdClientPort, etcdPeerPort, apiServerPort] = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
  const processes: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of processes.reverse()) await stopProcess(child);
    rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    processes.push(startLogged(path.join(binDir, 'etcd'), [
      `--data-dir=${path.join(stateDir, 'etcd')}`,
      `--listen-client-url=http://127.0.0.1:${etcdClientPort}`,
      `--listen-peer-url=http://127.0.0.1:${etcdPeerPort}`,
    ], path.join(stateDir, 'etcd.log'), options.detached));
    const apiServerArgs = [...apiServerArguments(stateDir, etcdClientPort, apiServerPort), ...(options.watchCache === false ? ['--watch-cache=false'] : [])];
    const startApiServer = (): ChildProcess =>
      startLogged(path.join(binDir, 'kube-apiserver'), apiServerArgs, path.join(stateDir, 'apiserver.log'), options.detached);
    processes.push(startApiServer());

    const environment = createEnvironment(`https://127.0.0.1:${apiServerPort}`, adminToken, stop);
    await waitUntilReady(environment, processes, readyTimeoutMs, stateDir);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    environment.restartApiServer = async (whileDown) => {
      const apiServer = processes.pop() as ChildProcess;
      await stopProcess(apiServer);
      await whileDown?.();
      processes.push(startApiServer());
      await waitUntilReady(environment, processes, readyTimeoutMs, stateDir);
    };
    environment.compactEtcd = async () => {
      const key = Buffer.from(`/croupier-testenv/compaction-${Date.now()}`).toString('base64');
      const put = await fetch(`${etcdUrl}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key, value: key }) });
      const { header } = (await put.json()) as { header: { revision: string } };
      const compaction = await fetch(`${etcdUrl}/v3/kv/compaction`, {
        method: 'POST',
        body: JSON.stringify({ revision: header.revision, physical: true }),
      });
      if (!compaction.ok) throw new Error(`etcd compaction failed: HTTP ${compaction.status} ${await compaction.text()}`);
    };
    return environment;
  } catch (error) {
    await stop();
    throw error;
  }
}

function apiServerArguments(stateDir: string, etcdClientPort: number, apiServerPort: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdClientPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The default reconciler rejects a loopback address, and without a controller-manager it has nothing to do.
    '--endpoint-reconciler-type=none',
    `--secure-port=${apiServerPort}`,
    `--cert-dir=${path.join(stateDir, 'certs')}`,
    // An address pool for Service objects only; nothing connects to it.
    '--service-cluster-ip-range=10.96.0.0/16',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${path.join(stateDir, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(stateDir, 'sa.key')}`,
    `--token-auth-file=${path.join(stateDir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
  ];
}

function createEnvironment(apiServerUrl: string, adminToken: string, stop: () => Promise<void>): TestEnvironment {
  const notStarted = (): Promise<void> => Promise.reject(new Error('the test environment is not started'));
  return {
    apiServerUrl,
    adminToken,
    stop,
    restartApiServer: notStarted,
    compactEtcd: notStarted,
    async request(method, apiPath, body, contentType = 'application/json', token = adminToken) {
      const { request: httpsRequest } = await import('node:https');
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const request = httpsRequest(
          `${apiServerUrl}${apiPath}`,
          {
            method,
            rejectUnauthorized: false,
            headers: {
              ...(token === null ? {} : { authorization: `Bearer ${token}` }),
              accept: 'application/json',
              ...(payload === undefined ? {} : { 'content-type': contentType }),
            },
            timeout: 10_000,
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                // Some endpoints, such as /readyz, return plain text.
              }
              resolve({ status: response.statusCode ?? 0, body: parsed });
            });
          },
        );
        request.on('timeout', () => request.destroy(new Error(`${method} ${apiPath} timed out`)));
        request.on('error', reject);
        request.end(payload);
      });
    },
  };
}

async function waitUntilReady(environment: TestEnvironment, processes: ChildProcess[], timeoutMs: number, stateDir: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    const exited = processes.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (exited !== undefined) throw new Error(`${exited.spawnfile} exited during start-up; see the logs in ${stateDir}`);
    try {
      const { status, body } = await environment.request('GET', '/readyz');
      if (status === 200) return;
      lastProblem = `HTTP ${status}: ${String(body).slice(0, 200)}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`kube-apiserver was not ready within ${timeoutMs} ms (${lastProblem})`);
}

function startLogged(binary: string, args: string[], logFile: string, detached = false): ChildProcess {
  const child = spawn('bash', ['-c', 'exec "$0" "$@" >>"$LOG_FILE" 2>&1', binary, ...args], {
    env: { ...process.env, LOG_FILE: logFile },
    stdio: 'ignore',
    detached,
  });
  return child;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function writeServiceAccountKeys(stateDir: string): void {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(stateDir, 'sa.key'), privateKey.export({ type: 'pkcs1', format: 'pem' }));
  writeFileSync(path.join(stateDir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}
