/**
 * Fair share between the normal jobs running in one worker process. The queue's fair share decides which
 * chunk a free slot takes next; a campaign that arrives while a blast holds every slot still gets one slot
 * when the next frees, and would then run beside three of the blast's chunks: a quarter of the process.
 * So no job sends on more of its chunks at once than every other running job has chunks (at least one): the
 * blast sends on one chunk while the campaign's one runs, on two once the campaign has two. Its other chunks
 * park before their next send group until a chunk of the process ends; they keep their slots. The process
 * then sends fewer groups at once for as long as the campaign runs, and the campaign gets half of its CPU
 * and connections instead of a quarter. With one job running (the usual case) nothing parks.
 *
 * A throttled job (`ratePerMinute`) paces itself and mostly sleeps between its steps: it is never parked
 * and never holds another job's chunks back, or a slow campaign would cut a blast beside it to one sender.
 */
export class JobShare {
  /** Per job: its chunks running in this process, and how many of them are parked. */
  private readonly jobs = new Map<string, { running: number; parked: number; paced: boolean }>();
  private readonly parked = new Set<() => void>();

  /** Runs one chunk of `job`; its sends call `turn(job)` first. */
  async run<T>(job: string, work: () => Promise<T>): Promise<T> {
    const entry = this.jobs.get(job) ?? { running: 0, parked: 0, paced: false };
    entry.running++;
    this.jobs.set(job, entry);
    // Another job's chunk more lets a parked chunk on; one less, too (or its job is alone again).
    this.wakeParked();
    try {
      return await work();
    } finally {
      if (--entry.running === 0) this.jobs.delete(job);
      this.wakeParked();
    }
  }

  /** Every parked chunk checks its job's share again. */
  private wakeParked(): void {
    for (const wake of [...this.parked]) wake();
  }

  /** How many chunks of `job` may send at once: as many as the other unthrottled job running the fewest has, at least one. */
  private senders(job: string): number {
    let fewest = Infinity;
    for (const [other, { running, paced }] of this.jobs) if (other !== job && !paced) fewest = Math.min(fewest, running);
    return Math.max(1, fewest);
  }

  /**
   * Before each send group of a chunk of `job` (`paced`: the job is throttled): resolves once the job is
   * within its share, or on `stopping`.
   */
  async turn(job: string, paced: boolean, stopping?: AbortSignal): Promise<void> {
    const entry = this.jobs.get(job);
    if (!entry) return;
    if (paced) {
      // The first time: the chunks it held back may go on.
      if (!entry.paced) this.wakeParked();
      entry.paced = true;
      return;
    }
    while (!stopping?.aborted && entry.running - entry.parked - 1 >= this.senders(job)) {
      entry.parked++;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.parked.delete(wake);
          stopping?.removeEventListener('abort', wake);
          resolve();
        };
        this.parked.add(wake);
        stopping?.addEventListener('abort', wake);
      });
      entry.parked--;
    }
  }
}
