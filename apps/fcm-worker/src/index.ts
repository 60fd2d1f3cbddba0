import { createLogger, loadFcmWorkerConfig, redactConfig, runProcess } from '@push/config';
import { startWorkerService } from '@push/delivery';
import { fcmWorkerDeps } from './worker';

/** The FCM worker process: consumes the `fcm` queue and sends through FCM HTTP v1. */
runProcess('fcm-worker', async () => {
  const config = loadFcmWorkerConfig();
  const logger = createLogger('fcm-worker', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  const deps = fcmWorkerDeps(config, logger);
  const service = await startWorkerService({ ...deps, secrets: config, metricsPort: config.WORKER_METRICS_PORT });
  // On SIGTERM the chunks in flight are finished first (a stop grace period of ~30 s is plenty).
  return { logger, stop: () => service.close() };
});
