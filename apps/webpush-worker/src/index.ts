import { webPushCredentials } from '@push/config';
import { runWorkerProcess } from '@push/delivery';
import { createWebPushProvider } from '@push/providers';

/** The Web Push worker process: consumes the `webpush` queue and sends to the browsers' push services. */
void runWorkerProcess('web', 'webpush-worker', (config, logger) =>
  createWebPushProvider({
    vapid: webPushCredentials(config),
    allowedEndpoints: config.WEBPUSH_ALLOWED_ENDPOINTS,
    connectionsPerOrigin: config.WEBPUSH_CONNECTIONS,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    logger,
  }),
);
