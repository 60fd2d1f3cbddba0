/**
 * The longest a normal chunk waits at the gate for one send group: high chunks are a few clients and take
 * one provider round trip, so the gate is open again well within this; a long run of high work (a big job
 * sent as `high`) still lets normal chunks through once a second.
 */
export const HIGH_LANE_GATE_MAX_MS = 1000;

/**
 * Normal chunks step aside for the high lane within one worker process: a normal chunk about to start a
 * send group waits for the high chunks of the process running at that moment (groups already with the
 * provider finish). Those high chunks' few requests and Redis calls then do not queue behind the blast's in
 * the provider connections, in Redis and in the event loop; the blast loses only the gap while an alert is
 * sent. High chunks that start while it waits do not hold it further: a steady flood of one-user pushes
 * (thousands a second, always some running) costs each normal group one high chunk's time, never all of it.
 */
export class HighLaneGate {
  /** Sequence number of the last high chunk started. */
  private started = 0;
  /** The running high chunks' sequence numbers, oldest first (a Set keeps insertion order). */
  private readonly running = new Set<number>();
  /** Normal chunks waiting, each for the high chunks up to its `upTo`. */
  private readonly waiters = new Set<{ upTo: number; open: () => void }>();

  /** Runs one high chunk; normal chunks arriving meanwhile wait until it has ended. */
  async high<T>(work: () => Promise<T>): Promise<T> {
    const seq = ++this.started;
    this.running.add(seq);
    try {
      return await work();
    } finally {
      this.running.delete(seq);
      const oldest = this.running.values().next().value ?? Infinity;
      for (const waiter of [...this.waiters]) if (waiter.upTo < oldest) waiter.open();
    }
  }

  /**
   * For a normal chunk before each send group: resolves at once when no high chunk runs, else once the high
   * chunks running now have ended, after HIGH_LANE_GATE_MAX_MS at most, or when `stopping` fires.
   */
  async normal(stopping?: AbortSignal): Promise<void> {
    if (this.running.size === 0 || stopping?.aborted) return;
    await new Promise<void>((resolve) => {
      const waiter = {
        upTo: this.started,
        open: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          stopping?.removeEventListener('abort', waiter.open);
          resolve();
        },
      };
      const timer = setTimeout(waiter.open, HIGH_LANE_GATE_MAX_MS);
      this.waiters.add(waiter);
      stopping?.addEventListener('abort', waiter.open);
    });
  }
}
