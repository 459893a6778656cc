import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * helm and kubeconform, built from the Go module proxy by charts/tools/build.sh
 * and cached under ~/.cache/croupier/chart-tools, run as child processes.
 */

export const CHARTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REPO_DIR = path.resolve(CHARTS_DIR, '..');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program and resolves with its exit code and output; a non-zero exit is a result, not an error. */
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

/** Builds the tools when the cache lacks them (the first time, a few minutes). */
export async function chartTools(): Promise<ChartTools> {
  const build = await run(path.join(CHARTS_DIR, 'tools/build.sh'), [], { timeoutMs: 30 * 60_000 });
  if (build.code !== 0) throw new Error(`charts/tools/build.sh failed (exit ${build.code}):\n${build.stderr}`);
  const binDir = build.stdout.trim().split('\n').at(-1) as string;
  return {
    helm: (args) => run(path.join(binDir, 'helm'), args),
    kubeconform: (args, input) => run(path.join(binDir, 'kubeconform'), [...args, '-'], { input }),
  };
}
