import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The JSON report of images/dockerfile-check, in the field names the Go tool writes. */
export interface DockerfileReport {
  dockerfile: string;
  findings: Finding[];
  stages: Stage[];
  contextFiles?: string[];
}

export interface Finding {
  rule: string;
  /** `buildkit` for the checks of `docker build --check`, `croupier` for the project's own. */
  source: 'buildkit' | 'croupier';
  line: number;
  message: string;
}

export interface Stage {
  name: string;
  line: number;
  base: string;
  baseStage?: string;
  /** True for a stage no other stage builds on or copies from: an image to ship. */
  isTarget: boolean;
  instructions: Instruction[];
  user: string;
  workdir: string;
  entrypoint?: string[];
  cmd?: string[];
  /** Docker's form: `["CMD", program, ...args]`, `["CMD-SHELL", line]` or `["NONE"]`. */
  healthcheck?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
}

export interface Instruction {
  kind: 'copy' | 'add' | 'run' | 'workdir';
  line: number;
  from?: string;
  sources?: string[];
  dest?: string;
  workdir?: string;
  command?: string[];
  shell?: boolean;
}

export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BUILD_SCRIPT = path.join(REPOSITORY_ROOT, 'images/dockerfile-check/build.sh');
const runFile = promisify(execFile);

/** Builds the checker when its cache lacks it (the first build downloads BuildKit's modules) and returns its path. */
export async function dockerfileCheckBinary(): Promise<string> {
  const { stdout } = await runFile(BUILD_SCRIPT, { maxBuffer: 1024 * 1024, timeout: 15 * 60_000 });
  return stdout.trim().split('\n').at(-1) as string;
}

/** Runs dockerfile-check on a build context and returns its report. */
export async function checkDockerfile(
  contextDir: string,
  options: { dockerfile?: string; buildArgs?: Record<string, string>; listContext?: boolean } = {},
): Promise<DockerfileReport> {
  const binary = await dockerfileCheckBinary();
  const args = ['--context', contextDir];
  if (options.dockerfile !== undefined) args.push('--file', options.dockerfile);
  for (const [name, value] of Object.entries(options.buildArgs ?? {})) args.push('--build-arg', `${name}=${value}`);
  if (options.listContext === true) args.push('--list-context');
  const { stdout } = await runFile(binary, args, { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  return JSON.parse(stdout) as DockerfileReport;
}

/** Formats findings one a line, as `Dockerfile:LINE RULE (source): message`, for assertion messages. */
export function formatFindings(findings: Finding[]): string {
  return findings.map((finding) => `Dockerfile:${finding.line} ${finding.rule} (${finding.source}): ${finding.message}`).join('\n');
}
