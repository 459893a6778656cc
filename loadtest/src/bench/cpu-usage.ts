import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds used so far, per component of the stack. */
export type CpuSeconds = Record<string, number>;

export interface ComponentProcesses {
  /** Component name to the pids of its Node.js processes, such as the wallet or the gateways. */
  nodeProcesses: Record<string, Array<number | undefined>>;
}

// Linux reports utime and stime in clock ticks; USER_HZ is 100 on every
// mainstream architecture (getconf CLK_TCK).
const TICKS_PER_SECOND = 100;

/** Server process names in /proc and the component each belongs to, regardless of which script started them. */
const SERVER_COMMANDS: Record<string, string> = {
  'postgres': 'postgresql',
  'beam.smp': 'rabbitmq',
  'erl_child_setup': 'rabbitmq',
  'redis-server': 'redis',
};

/**
 * Returns the CPU time of a process plus that of its exited children. Without
 * the children's share, a PostgreSQL backend that exits during a measurement
 * takes its CPU time with it and the component's difference can turn negative.
 */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [userTicks, systemTicks, childUserTicks, childSystemTicks] = fields.slice(11, 15).map(Number) as [number, number, number, number];
    return (userTicks + systemTicks + childUserTicks + childSystemTicks) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function processCommand(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Reads the CPU time of every component; the difference of two readings is what a step cost. */
export function readCpuSeconds(processes: ComponentProcesses): CpuSeconds {
  const usage: CpuSeconds = { 'load generator': processCpuSeconds(process.pid) };
  for (const [component, pids] of Object.entries(processes.nodeProcesses)) {
    usage[component] = pids.reduce<number>((total, pid) => total + (pid === undefined ? 0 : processCpuSeconds(pid)), 0);
  }
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    const component = SERVER_COMMANDS[processCommand(pid) ?? ''];
    if (component !== undefined) usage[component] = (usage[component] ?? 0) + processCpuSeconds(Number(pid));
  }
  return usage;
}

export function subtractCpuSeconds(after: CpuSeconds, before: CpuSeconds): CpuSeconds {
  // Rounded to the clock tick, so sums of ticks carry no floating-point noise into reports.
  return Object.fromEntries(
    Object.entries(after).map(([component, seconds]) => [component, Math.round((seconds - (before[component] ?? 0)) * TICKS_PER_SECOND) / TICKS_PER_SECOND]),
  );
}
