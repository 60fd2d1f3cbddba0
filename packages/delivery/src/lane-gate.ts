/**
 * The longest a normal chunk waits at the gate for one send group: high chunks are a few clients and take
 * one provider round trip, so the gate is open again well within this; a long run of high work (a big job
 * sent as `high`) still lets normal chunks through once a second.
 */
export const HIGH_LANE_GATE_MAX_MS = 1000;

/**
 * Normal chunks step aside for the high lane within one worker process: while a high chunk of the
 * process runs, a normal chunk starts no new send group (groups already with the provider finish). The
 * high chunk's few requests and Redis calls then do not queue behind the blast's in the provider
 * connections, in Redis and in the event loop; the blast loses only the gap while an alert is sent.
 */
export class HighLaneGate {
  private running = 0;
  private readonly waiters = new Set<() => void>();

  /** Runs one high chunk; the gate is closed to normal chunks until every running high chunk has ended. */
  async high<T>(work: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work();
    } finally {
      if (--this.running === 0) for (const open of [...this.waiters]) open();
    }
  }

  /**
   * For a normal chunk before each send group: resolves at once when no high chunk runs, else once none
   * does, after HIGH_LANE_GATE_MAX_MS at most, or when `stopping` fires.
   */
  async normal(stopping?: AbortSignal): Promise<void> {
    if (this.running === 0 || stopping?.aborted) return;
    await new Promise<void>((resolve) => {
      const open = () => {
        clearTimeout(timer);
        this.waiters.delete(open);
        stopping?.removeEventListener('abort', open);
        resolve();
      };
      const timer = setTimeout(open, HIGH_LANE_GATE_MAX_MS);
      this.waiters.add(open);
      stopping?.addEventListener('abort', open);
    });
  }
}
