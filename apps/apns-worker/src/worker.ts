import { apnsCredentials, type ApnsWorkerConfig, type Logger } from '@push/config';
import { appProviderFactory, workerSettings, type DeliveryWorkerDeps } from '@push/delivery';
import { createApnsProvider } from '@push/providers';

/**
 * The APNs worker's delivery worker, from its configuration: the provider (Apple's HTTP/2 API, token auth
 * checked before the first job) and the plain settings. `ca`: a private CA to trust (tests, simulators).
 */
export function apnsWorkerDeps(config: ApnsWorkerConfig, logger: Logger, ca?: string): DeliveryWorkerDeps {
  return {
    platform: 'ios',
    provider: createApnsProvider({
      credentials: apnsCredentials(config),
      connections: config.APNS_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      ...(ca !== undefined && { ca }),
    }),
    appProvider: appProviderFactory('ios', {
      connections: config.APNS_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      ...(ca !== undefined && { ca }),
    }),
    settings: { ...workerSettings(config), batchSize: config.APNS_BATCH_SIZE, rateLimitPerMinute: config.APNS_RATE_LIMIT_PER_MINUTE },
    logger,
  };
}
