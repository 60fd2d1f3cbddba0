import { fcmSettings, type FcmWorkerConfig, type Logger } from '@push/config';
import { appProviderFactory, workerSettings, type DeliveryWorkerDeps } from '@push/delivery';
import { createFcmProvider } from '@push/providers';

/**
 * The FCM worker's delivery worker, from its configuration: the provider (FCM HTTP v1, credentials checked
 * before the first job) and the plain settings. `ca`: a private CA to trust (tests, simulators).
 */
export function fcmWorkerDeps(config: FcmWorkerConfig, logger: Logger, ca?: string): DeliveryWorkerDeps {
  return {
    platform: 'android',
    provider: createFcmProvider({
      ...fcmSettings(config),
      connections: config.FCM_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      ...(ca !== undefined && { ca }),
    }),
    appProvider: appProviderFactory('android', {
      connections: config.FCM_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      ...(ca !== undefined && { ca }),
    }),
    settings: { ...workerSettings(config), batchSize: config.FCM_BATCH_SIZE, rateLimitPerMinute: config.FCM_RATE_LIMIT_PER_MINUTE },
    logger,
  };
}
