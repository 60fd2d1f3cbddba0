import { readFileSync } from 'node:fs';

/** Linux /proc readings of another process: memory and CPU time, without touching the process. */

function status(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

function kbField(text: string | undefined, name: string): number | undefined {
  const match = text === undefined ? null : new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Resident set size now, bytes. */
export const rssBytes = (pid: number): number | undefined => kbField(status(pid), 'VmRSS');

/** Peak resident set size since the process started (VmHWM), bytes. */
export const peakRssBytes = (pid: number): number | undefined => kbField(status(pid), 'VmHWM');

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) the process has used so far, seconds. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU time (all cores, busy: everything but idle and iowait) the whole machine has used so far, seconds. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Follows the CPU time of named processes between `start()` and `stop()`, and of the whole machine:
 * `others` is what processes outside the benchmark used meanwhile (a busy neighbour makes figures low).
 */
export class CpuMeter {
  private readonly startAt = new Map<string, number>();
  private startedAt = 0;
  private machineAt = 0;

  constructor(private readonly pids: () => Record<string, number>) {}

  start(): void {
    this.startedAt = performance.now();
    this.startAt.clear();
    for (const [name, pid] of Object.entries(this.pids())) this.startAt.set(name, cpuSeconds(pid) ?? 0);
    this.startAt.set('bench', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
    this.machineAt = machineBusySeconds() ?? 0;
  }

  /** CPU seconds each process used since `start()`, and the share of one core over the wall time. */
  stop(): Record<string, { cpuSeconds: number; cores: number }> {
    const wall = (performance.now() - this.startedAt) / 1000;
    const out: Record<string, { cpuSeconds: number; cores: number }> = {};
    const entry = (used: number) => ({ cpuSeconds: round(used, 2), cores: round(used / wall, 2) });
    let ours = 0;
    for (const [name, pid] of Object.entries(this.pids())) {
      const used = (cpuSeconds(pid) ?? 0) - (this.startAt.get(name) ?? 0);
      ours += used;
      out[name] = entry(used);
    }
    const bench = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 - (this.startAt.get('bench') ?? 0);
    out.bench = entry(bench);
    const machine = (machineBusySeconds() ?? 0) - this.machineAt;
    out.others = entry(Math.max(0, machine - ours - bench));
    return out;
  }
}

export const round = (n: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/**
 * Waits until the machine has been nearly idle (below `cores` busy) for a second, at most `maxMs`: the
 * benchmark shares the machine with whatever else runs, and a neighbour's burst would be counted as the
 * service's slowness. Returns the busy cores of the last second sampled.
 */
export async function waitForQuiet(maxMs: number, cores = 0.3, log?: (line: string) => void): Promise<number> {
  const deadline = performance.now() + maxMs;
  let warned = false;
  for (;;) {
    const before = machineBusySeconds() ?? 0;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = ((machineBusySeconds() ?? 0) - before) / ((performance.now() - started) / 1000);
    if (busy < cores || performance.now() > deadline) return round(busy, 2);
    if (!warned)
      log?.(
        `  the machine is busy (${busy.toFixed(2)} cores used by other processes): waiting up to ${Math.round(maxMs / 1000)} s for it to calm down`,
      );
    warned = true;
  }
}
