import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '@croupier/shared';

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServiceProcessOptions {
  /** Name used for the log file and in error messages, such as `alpha-gateway-1`. */
  name: string;
  /** Entry file relative to the repository root, such as `services/wallet/src/main.ts`. */
  entry: string;
  env: Record<string, string>;
  /** Directory for `<name>.log`; the process's stdout and stderr go there. */
  logDirectory: string;
  /** URL that returns 200 once the service is ready. */
  readinessUrl: string;
  readinessTimeoutMs?: number;
}

/** Children still running; killed when this process exits, even on a crash, so none outlive a failed run. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * One Croupier service running as a child process from its TypeScript
 * sources, the way the demo and the benchmarks run a brand's stack.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exitCode: number | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly options: ServiceProcessOptions) {}

  get logFile(): string {
    return path.join(this.options.logDirectory, `${this.options.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    mkdirSync(this.options.logDirectory, { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', path.join(REPOSITORY_ROOT, this.options.entry)],
      // A process group of its own, so Ctrl-C in the terminal reaches only the driver, which stops
      // the services in order. The exit hook above still kills them if the driver crashes.
      { cwd: REPOSITORY_ROOT, env: { ...process.env, ...this.options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    running.add(child);
    this.exitCode = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.exitCode = code ?? (signal === null ? null : 128);
        resolve(this.exitCode);
      });
    });
    await this.waitUntilReady();
  }

  /** Sends SIGTERM and waits for the exit, escalating to SIGKILL after the timeout. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return this.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Kills the process without letting it clean up, as a crash would. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + (this.options.readinessTimeoutMs ?? 30_000);
    let lastProblem = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null || this.child?.signalCode !== null) {
        throw new Error(`${this.options.name} exited during start-up; see ${this.logFile}`);
      }
      try {
        const response = await fetch(this.options.readinessUrl, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return;
        lastProblem = `HTTP ${response.status}`;
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      await sleep(100);
    }
    await this.kill();
    throw new Error(`${this.options.name} was not ready within the timeout (${lastProblem}); see ${this.logFile}`);
  }
}
