import { webPushCredentials, type Logger, type WebPushWorkerConfig } from '@push/config';
import { appProviderFactory, workerSettings, type DeliveryWorkerDeps } from '@push/delivery';
import { createWebPushProvider } from '@push/providers';

/**
 * The Web Push worker's delivery worker, from its configuration: the provider (VAPID identity checked
 * before the first job, the endpoint allowlist) and the plain settings. `ca`: a private CA to trust (tests,
 * simulators).
 */
export function webpushWorkerDeps(config: WebPushWorkerConfig, logger: Logger, ca?: string): DeliveryWorkerDeps {
  return {
    platform: 'web',
    provider: createWebPushProvider({
      vapid: webPushCredentials(config),
      allowedEndpoints: config.WEBPUSH_ALLOWED_ENDPOINTS,
      connectionsPerOrigin: config.WEBPUSH_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      ...(ca !== undefined && { ca }),
    }),
    // Other apps' VAPID keys (POST /admin/apps {"webpush": ...}), under the deployment's allowlist.
    appProvider: appProviderFactory('web', {
      connections: config.WEBPUSH_CONNECTIONS,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      logger,
      allowedEndpoints: config.WEBPUSH_ALLOWED_ENDPOINTS,
      ...(ca !== undefined && { ca }),
    }),
    settings: { ...workerSettings(config), batchSize: config.WEBPUSH_BATCH_SIZE, rateLimitPerMinute: config.WEBPUSH_RATE_LIMIT_PER_MINUTE },
    logger,
  };
}
