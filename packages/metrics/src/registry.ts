import { Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistryOptions {
  /**
   * Also collect prom-client's default process metrics (CPU, memory, event loop lag, GC, handles).
   * @defaultValue true
   */
  defaultMetrics?: boolean;
}

/** A registry of one process's metrics; never prom-client's global one, so tests can make many. */
export function createMetricsRegistry({ defaultMetrics = true }: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
