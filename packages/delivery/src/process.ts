import type { Platform } from '@push/contract';
import { ConfigError, createLogger, loadConfig, redactConfig, type Config, type Logger } from '@push/config';
import { createMetricsRegistry, deliveryMetrics, redisUpMetric, startMetricsServer } from '@push/metrics';
import type { PushProvider } from '@push/providers';
import { createDeliveryWorker } from './worker';

/**
 * The whole life of a worker process: configuration checked before the first job (credentials
 * included), the worker started with its metrics server (WORKER_METRICS_PORT: `/metrics`, `/healthz`),
 * and SIGTERM/SIGINT answered by finishing in-flight chunks first.
 */
export async function runWorkerProcess(
  platform: Platform,
  name: string,
  createProvider: (config: Config, logger: Logger) => PushProvider | Promise<PushProvider>,
): Promise<void> {
  try {
    const config = loadConfig();
    const logger = createLogger(name, config.LOG_LEVEL);
    logger.info({ config: redactConfig(config) }, 'starting');
    const provider = await createProvider(config, logger);
    // Which APNs environment / FCM project this worker sends to: the first thing to check when every
    // token is suddenly refused.
    const target = await provider.describe();
    const registry = createMetricsRegistry();
    const delivery = createDeliveryWorker({ platform, provider, config, logger, events: deliveryMetrics(registry) });
    redisUpMetric(registry, () => delivery.redisReady());
    const lanes = Object.values(delivery.workers);
    await Promise.all(lanes.map((w) => w.waitUntilReady()));
    const metrics = await startMetricsServer({ registry, tokens: config.metricsTokens, port: config.WORKER_METRICS_PORT });
    const queues = Object.fromEntries(lanes.map((w) => [w.name, w.concurrency]));
    logger.info({ queues, metricsPort: metrics.port, ...target }, 'worker ready');

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing in-flight chunks');
      await delivery.close();
      await metrics.close();
      logger.info('stopped');
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
    process.exit(1);
  }
}
