import { operatorSecrets, type Secrets } from '@push/config';
import { createMetricsRegistry, deliveryMetrics, redisUpMetric, startMetricsServer } from '@push/metrics';
import { createDeliveryWorker, type DeliveryWorkerDeps } from './worker';

export interface WorkerServiceOptions extends Omit<DeliveryWorkerDeps, 'events'> {
  /** The secrets that may open the worker's `/metrics` (config.ts `operatorSecrets`). */
  secrets: Secrets;
  /** Port of `/metrics` and `/healthz` (0: a free port). */
  metricsPort: number;
}

export interface WorkerService {
  /** The port `/metrics` and `/healthz` listen on. */
  metricsPort: number;
  /** Stops taking chunks, finishes the ones in flight, then closes every connection and the metrics server. */
  close(): Promise<void>;
}

/**
 * A worker process's service, without the process itself (signals and exit are the app's): the delivery
 * worker, consuming once Redis answers, and its metrics server (`/metrics`, `/healthz`).
 */
export async function startWorkerService(options: WorkerServiceOptions): Promise<WorkerService> {
  const { provider, logger, secrets, metricsPort, ...deps } = options;
  // Which APNs environment / FCM project this worker sends to: the first thing to check when every
  // token is suddenly refused.
  const target = await provider.describe();
  const registry = createMetricsRegistry();
  const delivery = createDeliveryWorker({ ...deps, provider, logger, events: deliveryMetrics(registry) });
  redisUpMetric(registry, () => delivery.redisReady());
  const lanes = Object.values(delivery.workers);
  await Promise.all(lanes.map((w) => w.waitUntilReady()));
  const tokens = async () => operatorSecrets(secrets, 'metrics', await delivery.otherAppsExist());
  const metrics = await startMetricsServer({ registry, tokens, port: metricsPort });
  const queues = Object.fromEntries(lanes.map((w) => [w.name, w.concurrency]));
  logger.info({ queues, metricsPort: metrics.port, ...target }, 'worker ready');
  return {
    metricsPort: metrics.port,
    async close() {
      await delivery.close();
      await metrics.close();
    },
  };
}
