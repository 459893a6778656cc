import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerfileReport, Instruction, Stage } from './dockerfile-report.js';

/**
 * Reproduces, without a container engine, the file system each target of a
 * Dockerfile would ship. Every stage is a directory in place of its root file
 * system. COPY copies into it from the context files the report lists or from
 * an earlier stage's directory. RUN runs the same command in the stage
 * directory's copy of its WORKDIR.
 *
 * NOTE: base images are not unpacked. A stage starts empty and RUN uses this
 * machine's Node.js and npm, so this shows what the Dockerfile copies and
 * builds, not that the base image has the tools a RUN needs.
 *
 * The result is cached by the hash of the Dockerfile, the build arguments and
 * every context file, because `npm ci` and `tsc -b` take minutes on 2 cores.
 */

export interface ImageLayouts {
  /** Target stage name to the directory that is its root file system. */
  roots: Map<string, string>;
  /** True when the layouts came from the cache. */
  cached: boolean;
}

const RUN_TIMEOUT_MS = 10 * 60_000;

function cacheRoot(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'croupier', 'image-layouts');
}

/** Hashes what decides the layouts' content: the Dockerfile, the build arguments and each context file's path, mode and bytes. */
export function layoutKey(report: DockerfileReport, contextDir: string, buildArgs: Record<string, string>): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(report.dockerfile));
  hash.update(JSON.stringify(Object.entries(buildArgs).sort()));
  for (const file of report.contextFiles ?? []) {
    const full = path.join(contextDir, file);
    hash.update(`\0${file}\0${statSync(full).mode}\0`);
    hash.update(readFileSync(full));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Builds (or reuses) the layout of every target in the report; `log` receives a line per step. */
export async function buildImageLayouts(
  report: DockerfileReport,
  contextDir: string,
  buildArgs: Record<string, string>,
  log: (line: string) => void = () => undefined,
): Promise<ImageLayouts> {
  if (report.contextFiles === undefined) throw new Error('the report has no context files; run dockerfile-check with --list-context');
  const key = layoutKey(report, contextDir, buildArgs);
  const finalDir = path.join(cacheRoot(), key);
  const targets = report.stages.filter((stage) => stage.isTarget);
  const rootsIn = (dir: string): Map<string, string> => new Map(targets.map((stage) => [stage.name, path.join(dir, stage.name)]));
  if (existsSync(path.join(finalDir, 'complete'))) return { roots: rootsIn(finalDir), cached: true };

  const workDir = `${finalDir}.partial-${process.pid}`;
  rmSync(workDir, { recursive: true, force: true });
  try {
    const stageRoots = new Map<string, string>();
    for (const stage of report.stages) {
      const root = path.join(workDir, 'stages', stage.name);
      await buildStage(stage, root, stageRoots, contextDir, report.contextFiles, log);
      stageRoots.set(stage.name, root);
    }
    for (const stage of targets) renameSync(stageRoots.get(stage.name) as string, path.join(workDir, stage.name));
    // Only the targets are kept, because the build stage alone contains every workspace's node_modules.
    rmSync(path.join(workDir, 'stages'), { recursive: true, force: true });
    writeFileSync(path.join(workDir, 'complete'), `${new Date().toISOString()}\n`);
    removeOtherLayouts(key);
    renameSync(workDir, finalDir);
  } catch (error) {
    rmSync(workDir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(contextStagingDir(), { recursive: true, force: true });
  }
  return { roots: rootsIn(finalDir), cached: false };
}

/** Keeps one layout on disk: each one takes a few hundred megabytes. */
function removeOtherLayouts(keep: string): void {
  if (!existsSync(cacheRoot())) return;
  for (const entry of readdirSync(cacheRoot())) {
    if (entry !== keep && !entry.includes('.partial-')) rmSync(path.join(cacheRoot(), entry), { recursive: true, force: true });
  }
}

async function buildStage(
  stage: Stage,
  root: string,
  stageRoots: Map<string, string>,
  contextDir: string,
  contextFiles: string[],
  log: (line: string) => void,
): Promise<void> {
  if (stage.baseStage !== undefined) {
    cpSync(stageRoots.get(stage.baseStage) as string, root, { recursive: true, verbatimSymlinks: true });
  } else {
    mkdirSync(root, { recursive: true });
  }
  mkdirSync(inRoot(root, stage.workdir), { recursive: true });

  for (const instruction of stage.instructions) {
    if (instruction.kind === 'workdir') {
      mkdirSync(inRoot(root, instruction.workdir as string), { recursive: true });
    } else if (instruction.kind === 'run') {
      log(`${stage.name}: RUN ${(instruction.command ?? []).join(' ')}`);
      await runInStage(stage, instruction, root);
    } else if (instruction.from !== undefined) {
      const fromRoot = stageRoots.get(instruction.from.toLowerCase());
      if (fromRoot === undefined) throw new Error(`line ${instruction.line}: COPY --from=${instruction.from} names no earlier stage`);
      copySources(instruction, root, (source) => inRoot(fromRoot, source));
    } else {
      copySources(instruction, root, (source) => stageContextSource(contextDir, contextFiles, source));
    }
  }
}

/** Maps an absolute path of the image to the stage directory. */
function inRoot(root: string, imagePath: string): string {
  return path.join(root, path.posix.normalize(`/${imagePath}`));
}

function contextStagingDir(): string {
  return path.join(os.tmpdir(), `croupier-image-context-${process.pid}`);
}

/**
 * Returns a source from the context as the build receives it: only the files the
 * .dockerignore lets through, gathered into a directory of their own.
 */
function stageContextSource(contextDir: string, contextFiles: string[], source: string): string {
  const relative = path.posix.normalize(source).replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const matching = contextFiles.filter((file) => file === relative || file.startsWith(`${relative}/`));
  if (matching.length === 0) throw new Error(`COPY source ${source} is not in the build context`);
  const staged = path.join(contextStagingDir(), relative);
  rmSync(staged, { recursive: true, force: true });
  for (const file of matching) cpSync(path.join(contextDir, file), path.join(staged, file.slice(relative.length)), { verbatimSymlinks: true });
  return staged;
}

/**
 * Copies with Docker's rules: a directory source copies its contents, a file
 * goes into the destination when that ends with `/` (or several sources are
 * given), and to the destination path itself otherwise.
 */
function copySources(instruction: Instruction, root: string, resolveSource: (source: string) => string): void {
  const destination = path.posix.isAbsolute(instruction.dest as string)
    ? (instruction.dest as string)
    : path.posix.join(instruction.workdir ?? '/', instruction.dest as string);
  const destinationIsDirectory = (instruction.dest as string).endsWith('/') || (instruction.sources ?? []).length > 1;
  for (const source of instruction.sources ?? []) {
    const from = resolveSource(source);
    if (!existsSync(from)) throw new Error(`line ${instruction.line}: COPY source ${source} does not exist (looked for ${from})`);
    const target = inRoot(root, destination);
    if (statSync(from).isDirectory()) {
      cpSync(from, target, { recursive: true, verbatimSymlinks: true });
    } else {
      const file = destinationIsDirectory ? path.join(target, path.basename(from)) : target;
      mkdirSync(path.dirname(file), { recursive: true });
      cpSync(from, file, { verbatimSymlinks: true });
    }
  }
}

function runInStage(stage: Stage, instruction: Instruction, root: string): Promise<void> {
  const command = instruction.command ?? [];
  const [program, ...args] = instruction.shell === true ? ['sh', '-c', command.join(' ')] : command;
  const logFile = path.join(root, '..', `${stage.name}-line-${instruction.line}.log`);
  const output = openSync(logFile, 'w');
  const child = spawn(program as string, args, {
    cwd: inRoot(root, instruction.workdir ?? stage.workdir),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env },
    stdio: ['ignore', output, output],
  });
  closeSync(output);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
      reject(new Error(`stage ${stage.name}, line ${instruction.line}: ${command.join(' ')} exited with ${code ?? signal}\n${tail}`));
    });
  });
}
