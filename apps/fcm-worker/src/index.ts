import { ConfigError, createLogger, loadFcmWorkerConfig, redactConfig } from '@push/config';
import { startWorkerService } from '@push/delivery';
import { fcmWorkerDeps } from './worker';

/** The FCM worker process: consumes the `fcm` queue and sends through FCM HTTP v1. */
async function main(): Promise<void> {
  const config = loadFcmWorkerConfig();
  const logger = createLogger('fcm-worker', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  const service = await startWorkerService({
    ...fcmWorkerDeps(config, logger),
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
  process.stderr.write(`fcm-worker: ${error instanceof ConfigError ? error.message : String((error as Error).stack)}\n`);
  process.exit(1);
});
