import { createLogger, loadWebPushWorkerConfig, redactConfig, runProcess } from '@push/config';
import { startWorkerService } from '@push/delivery';
import { webpushWorkerDeps } from './worker';

/** The Web Push worker process: consumes the `webpush` queues and sends to the browsers' push services. */
runProcess('webpush-worker', async () => {
  const config = loadWebPushWorkerConfig();
  const logger = createLogger('webpush-worker', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  const deps = webpushWorkerDeps(config, logger);
  const service = await startWorkerService({ ...deps, secrets: config, metricsPort: config.WORKER_METRICS_PORT });
  // On SIGTERM the chunks in flight are finished first (a stop grace period of ~30 s is plenty).
  return { logger, stop: () => service.close() };
});
