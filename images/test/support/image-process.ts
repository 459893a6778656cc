import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Stage } from './dockerfile-report.js';

/**
 * Runs a target's ENTRYPOINT and HEALTHCHECK from its reproduced layout the
 * way the container would, with the image's WORKDIR and ENV and plain `node`
 * (no tsx, no `source` condition). When the test runs as root, the process
 * also runs as the image's numeric USER, so the copied files are read-only
 * for it.
 */

/** Returns the image's USER as numbers, or undefined when this process cannot switch to it. */
function imageUser(stage: Stage): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = stage.user.split(':').map(Number);
  return { uid: uid as number, gid: gid ?? (uid as number) };
}

/**
 * Copies a cached layout into `runDir` and returns the copy's root. The image
 * user must be able to enter `runDir`, which it cannot do under root's home.
 */
export function copyLayoutForRun(layoutRoot: string, runDir: string): string {
  const root = path.join(runDir, path.basename(layoutRoot));
  cpSync(layoutRoot, root, { recursive: true, verbatimSymlinks: true });
  return root;
}

/**
 * Resolves `node` to this machine's Node.js.
 * NOTE: nothing checks that its version equals the NODE_VERSION that the Dockerfile pins.
 */
function resolveProgram(command: string[]): [string, string[]] {
  const [program, ...args] = command;
  return [program === 'node' ? process.execPath : (program as string), args];
}

function environment(stage: Stage, env: Record<string, string>): NodeJS.ProcessEnv {
  // Built from nothing, so the test runner's NODE_OPTIONS (such as --import tsx) never reaches the service.
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', ...stage.env, ...env };
}

/** Returns the real UID of a running process from /proc, or undefined once it is gone. */
export function processUid(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('Uid:'));
    return line === undefined ? undefined : Number(line.split(/\s+/)[1]);
  } catch {
    return undefined;
  }
}

export interface ImageProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts the target's ENTRYPOINT plus CMD in the layout at `root`. */
export function startEntrypoint(stage: Stage, root: string, env: Record<string, string>): ImageProcess {
  const [program, args] = resolveProgram([...(stage.entrypoint ?? []), ...(stage.cmd ?? [])]);
  const child = spawn(program, args, {
    cwd: path.join(root, stage.workdir),
    env: environment(stage, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...imageUser(stage),
  });
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs the target's HEALTHCHECK command once, as Docker would inside the container, and returns its exit code. */
export function runHealthcheck(stage: Stage, root: string, env: Record<string, string>, timeoutMs = 10_000): Promise<number | null> {
  const [form, ...command] = stage.healthcheck ?? [];
  if (form !== 'CMD') throw new Error(`stage ${stage.name}: HEALTHCHECK is ${form ?? 'missing'}, not the exec form CMD`);
  const [program, args] = resolveProgram(command);
  const child = spawn(program, args, {
    cwd: path.join(root, stage.workdir),
    env: environment(stage, env),
    stdio: 'ignore',
    timeout: timeoutMs,
    ...imageUser(stage),
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/** Polls `url` until it returns 200, and fails early with the process output when the process exits first. */
export async function waitUntilReady(url: string, service: ImageProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no response yet';
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`the process exited with ${service.child.exitCode ?? service.child.signalCode} before ${url} returned 200:\n${service.output()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      lastProblem = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not return 200 within ${timeoutMs} ms (${lastProblem}):\n${service.output()}`);
}
