import { ConfigError, createLogger, loadApnsWorkerConfig, redactConfig } from '@push/config';
import { startWorkerService } from '@push/delivery';
import { apnsWorkerDeps } from './worker';

/** The APNs worker process: consumes the `apns` queue and sends through Apple's HTTP/2 API. */
async function main(): Promise<void> {
  const config = loadApnsWorkerConfig();
  const logger = createLogger('apns-worker', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  const service = await startWorkerService({
    ...apnsWorkerDeps(config, logger),
    metricsTokens: config.metricsTokens,
    metricsPort: config.WORKER_METRICS_PORT,
  });
  // SIGTERM (compose, Kubernetes) or Ctrl-C: finish the chunks in flight, then exit.
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping: finishing in-flight chunks');
    void service.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop).once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`apns-worker: ${error instanceof ConfigError ? error.message : String((error as Error).stack)}\n`);
  process.exit(1);
});
