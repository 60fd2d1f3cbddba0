/**
 * One Redis call for many concurrent callers: the items of calls made while a flush is in flight (or in
 * the same tick as the first) go out together in the next flush, as ioredis' auto-pipelining does for
 * commands. `flush` answers each item, in order. A lone call waits for nothing but the next tick; under
 * load, the calls of every chunk a worker runs at once share one script call each round trip, where each
 * chunk paid its own (a one-user push's chunk is one token: these calls were most of its Redis work).
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
      if (!running) {
        running = true;
        process.nextTick(() => void run());
      }
    });
}
