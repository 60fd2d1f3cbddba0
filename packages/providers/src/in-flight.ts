/** The sends a provider has started, so that close() can wait for them before closing connections. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  async track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    try {
      return await work;
    } finally {
      this.running.delete(work);
    }
  }

  /** Resolves once every send started so far has finished (successfully or not). */
  async drained(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
