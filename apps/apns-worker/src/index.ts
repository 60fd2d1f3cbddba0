import { createLogger, loadApnsWorkerConfig, redactConfig, runProcess } from '@push/config';
import { startWorkerService } from '@push/delivery';
import { apnsWorkerDeps } from './worker';

/** The APNs worker process: consumes the `apns` queue and sends through Apple's HTTP/2 API. */
runProcess('apns-worker', async () => {
  const config = loadApnsWorkerConfig();
  const logger = createLogger('apns-worker', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  const deps = apnsWorkerDeps(config, logger);
  const service = await startWorkerService({ ...deps, secrets: config, metricsPort: config.WORKER_METRICS_PORT });
  // On SIGTERM the chunks in flight are finished first (a stop grace period of ~30 s is plenty).
  return { logger, stop: () => service.close() };
});
