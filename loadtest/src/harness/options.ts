import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

/** Server the players connect to: the platform's gateways or bare socket.io. */
export type TargetKind = 'platform' | 'bare';

export interface HarnessOptions {
  /** Connected players, spread over the workers and the gateway replicas. */
  players: number;
  /** Balance changes per second the driver commits, whatever the server's speed. */
  ratePerSecond: number;
  durationSeconds: number;
  /** New connections per second while players ramp up. */
  connectRatePerSecond: number;
  /** Share of players, 0 to 1, that drop and reconnect in the storm; 0 disables it. */
  reconnectShare: number;
  /** Start of the storm, in seconds after the driver starts. */
  reconnectAtSeconds: number;
  workers: number;
  gatewayReplicas: number;
  targets: TargetKind[];
  /** Directory for the JSON result and the plots. */
  outputDirectory: string;
  /** True to replace the loadtest section of docs/benchmarks.md with the results. */
  shouldUpdateDocs: boolean;
  /** A short name for the run in reports, `smoke` or `full`. */
  profile: string;
  /** True to redraw the plots and the section from the saved JSON result, without measuring. */
  isRenderOnly: boolean;
  /** True to validate the options and exit, so a wrapper script can fail before it starts any server. */
  isCheckOnly: boolean;
}

export class OptionsError extends Error {}

export const USAGE = `Usage: loadtest [options]

Connects many socket.io players over worker threads, commits balance changes
at a fixed arrival rate, drops and reconnects a share of the players midway,
and reports commit-to-receive latency, lost and out-of-order updates.

Without --smoke or --output-dir, a run takes about 4 minutes on 2 cores and
replaces the recorded results in docs/ (loadtest-results.json and the two
plots, and with them the loadtest section of benchmarks.md unless --no-docs),
whatever its options.

Options:
  --smoke                   about 25 seconds: 40 players, 20 changes/s for 4 s;
                            writes to .bench/loadtest-smoke/, never to docs/
  --players N               connected players (default 10000)
  --rate N                  balance changes per second (default 200)
  --duration-seconds N      how long the driver runs (default 60)
  --connect-rate N          new connections per second while ramping up (default 1000)
  --reconnect-share F       share of players in the reconnect storm, 0 to 1 (default 0.2)
  --reconnect-at-seconds N  when the storm starts (default: half the duration)
  --workers N               worker threads holding the players (default: cores, at most 4)
  --gateway-replicas N      push gateway or bare server replicas (default 2)
  --targets L               comma-separated: platform, bare (default platform,bare)
  --output-dir DIR          write the JSON result and the plots to DIR instead of
                            docs/, and leave docs/benchmarks.md alone
  --no-docs                 write the JSON result and the plots to docs/ but leave
                            docs/benchmarks.md alone
  --render-only             redraw the plots from the saved loadtest-results.json
                            of the output directory without measuring (and the
                            docs/benchmarks.md section when that is docs/)
  --check                   validate the options and exit without running
  --help                    show this text`;

const SMOKE = { players: 40, rate: 20, duration: 4, connectRate: 200 };
const FULL = { players: 10_000, rate: 200, duration: 60, connectRate: 1_000 };

/** Default output folders: full runs write to the docs, smoke runs to a scratch folder. */
export interface OutputDirectories {
  docs: string;
  smoke: string;
}

/** Parses and validates the command line; throws OptionsError with the offending flag and value. */
export function parseHarnessOptions(argv: readonly string[], directories: OutputDirectories): HarnessOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        smoke: { type: 'boolean', default: false },
        players: { type: 'string' },
        rate: { type: 'string' },
        'duration-seconds': { type: 'string' },
        'connect-rate': { type: 'string' },
        'reconnect-share': { type: 'string', default: '0.2' },
        'reconnect-at-seconds': { type: 'string' },
        workers: { type: 'string' },
        'gateway-replicas': { type: 'string', default: '2' },
        targets: { type: 'string', default: 'platform,bare' },
        'output-dir': { type: 'string' },
        'no-docs': { type: 'boolean', default: false },
        'render-only': { type: 'boolean', default: false },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new OptionsError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values['render-only']) {
    const measuring = ['smoke', 'players', 'rate', 'duration-seconds', 'connect-rate', 'reconnect-at-seconds', 'workers', 'targets'].filter(
      (name) => argv.some((argument) => argument === `--${name}` || argument.startsWith(`--${name}=`)),
    );
    if (measuring.length > 0) {
      throw new OptionsError(`--render-only measures nothing, so it takes no ${measuring.map((name) => `--${name}`).join(', ')}`);
    }
  }

  const preset = values.smoke ? SMOKE : FULL;
  const durationSeconds = positiveInteger('duration-seconds', values['duration-seconds'] ?? String(preset.duration));
  const reconnectShare = Number(values['reconnect-share']);
  if (!Number.isFinite(reconnectShare) || reconnectShare < 0 || reconnectShare > 1) {
    throw new OptionsError(`--reconnect-share must be a number from 0 to 1, got ${JSON.stringify(values['reconnect-share'])}`);
  }
  const reconnectAtSeconds =
    values['reconnect-at-seconds'] === undefined ? durationSeconds / 2 : nonNegativeNumber('reconnect-at-seconds', values['reconnect-at-seconds']);
  if (reconnectShare > 0 && reconnectAtSeconds >= durationSeconds) {
    throw new OptionsError(`--reconnect-at-seconds must be below --duration-seconds (${durationSeconds}), got ${reconnectAtSeconds}`);
  }
  const targets = values.targets.split(',').map((target) => target.trim());
  for (const target of targets) {
    if (target !== 'platform' && target !== 'bare') {
      throw new OptionsError(`--targets: invalid target ${JSON.stringify(target)}; use platform, bare or both`);
    }
  }
  const players = positiveInteger('players', values.players ?? String(preset.players));
  const workers = positiveInteger('workers', values.workers ?? String(Math.min(4, availableParallelism())));
  return {
    players,
    ratePerSecond: positiveInteger('rate', values.rate ?? String(preset.rate)),
    durationSeconds,
    connectRatePerSecond: positiveInteger('connect-rate', values['connect-rate'] ?? String(preset.connectRate)),
    reconnectShare,
    reconnectAtSeconds,
    workers: Math.min(workers, players),
    gatewayReplicas: positiveInteger('gateway-replicas', values['gateway-replicas']),
    targets: [...new Set(targets)] as TargetKind[],
    outputDirectory: values['output-dir'] ?? (values.smoke ? directories.smoke : directories.docs),
    // The section links the plots in docs/, so results written elsewhere never replace it, and a
    // smoke run's seconds of data never replace a full run's.
    shouldUpdateDocs: !values['no-docs'] && !values.smoke && values['output-dir'] === undefined,
    profile: values.smoke ? 'smoke' : 'full',
    isRenderOnly: values['render-only'],
    isCheckOnly: values.check,
  };
}

function positiveInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new OptionsError(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

function nonNegativeNumber(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new OptionsError(`--${name} must be a number of 0 or more, got ${JSON.stringify(raw)}`);
  return value;
}
