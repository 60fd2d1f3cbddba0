import { apnsCredentials } from '@push/config';
import { runWorkerProcess } from '@push/delivery';
import { createApnsProvider } from '@push/providers';

/** The APNs worker process: consumes the `apns` queue and sends through Apple's HTTP/2 API. */
void runWorkerProcess('ios', 'apns-worker', (config, logger) =>
  createApnsProvider({
    credentials: apnsCredentials(config),
    connections: config.APNS_CONNECTIONS,
    timeoutMs: config.PROVIDER_TIMEOUT_MS,
    logger,
  }),
);
