/**
 * One Redis call for many concurrent callers: a call made while no flush is in flight goes out at once
 * (alone, in the same auto-pipelined write as the caller's other commands); the items of calls made while
 * one is in flight go out together in the next flush. `flush` answers each item, in order. Under load, the
 * calls of every chunk a worker runs at once share one script call per round trip, where each chunk paid
 * its own (a one-user push's chunk is one token: these calls were much of its Redis work).
 */
export function batched<I, R>(flush: (items: I[]) => Promise<R[]>): (item: I) => Promise<R> {
  let waiting: Array<{ item: I; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  let running = false;
  const run = async () => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        const out = await flush(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(out[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    running = false;
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!running) void run();
    });
}
