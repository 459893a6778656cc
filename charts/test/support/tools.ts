import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runners for helm and kubeconform as child processes. charts/tools/build.sh
 * builds both from the Go module proxy and caches them under
 * ~/.cache/croupier/chart-tools.
 */

export const CHARTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_DIR = path.resolve(CHARTS_DIR, '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program and resolves with its exit code and output. A non-zero exit
 * resolves too, and only a failure to start or a timeout rejects.
 */
export function run(program: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { cwd: CHARTS_DIR, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`${program} ${args.join(' ')}: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface ChartTools {
  helm(args: string[]): Promise<RunResult>;
  kubeconform(args: string[], input: string): Promise<RunResult>;
}

/** Builds the tools unless they are cached (a few minutes the first time) and returns their runners. */
export async function chartTools(): Promise<ChartTools> {
  const build = await run(path.join(CHARTS_DIR, 'tools/build.sh'), [], { timeoutMs: 30 * 60_000 });
  if (build.code !== 0) throw new Error(`charts/tools/build.sh failed (exit ${build.code}):\n${build.stderr}`);
  const binDir = build.stdout.trim().split('\n').at(-1) as string;
  return {
    helm: (args) => run(path.join(binDir, 'helm'), args),
    kubeconform: (args, input) => run(path.join(binDir, 'kubeconform'), [...args, '-'], { input }),
  };
}
