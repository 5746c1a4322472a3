import { readFileSync } from 'node:fs';

/** One process's resident set size, read once a second. */
export interface RssSeries {
  name: string;
  pid: number;
  /** [ms since the first sample, RSS in kB] */
  samples: [number, number][];
}

/** VmRSS of /proc/<pid>/status in kB, or undefined once the process is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * Samples the RSS of every process it is told to watch, every second,
 * until each exits: a restarted instance is a new series (a new pid).
 */
export class RssSampler {
  readonly series: RssSeries[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = new Map<RssSeries, number>();

  constructor(intervalMs = 1_000) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  watch(name: string, pid: number | undefined): void {
    if (pid === undefined) throw new Error(`${name} has no pid`);
    const series: RssSeries = { name, pid, samples: [] };
    this.series.push(series);
    this.started.set(series, Date.now());
    this.sampleOne(series);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    for (const series of this.started.keys()) this.sampleOne(series);
  }

  private sampleOne(series: RssSeries): void {
    const kb = rssOf(series.pid);
    if (kb === undefined) {
      this.started.delete(series);
      return;
    }
    series.samples.push([Date.now() - this.started.get(series)!, kb]);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}
