import { fcmSettings } from '@push/config';
import { runWorkerProcess } from '@push/delivery';
import { createFcmProvider } from '@push/providers';

/** The FCM worker process: consumes the `fcm` queue and sends through FCM HTTP v1. */
void runWorkerProcess('android', 'fcm-worker', (config, logger) =>
  createFcmProvider({
    ...fcmSettings(config),
    connections: config.FCM_CONNECTIONS,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    logger,
  }),
);
