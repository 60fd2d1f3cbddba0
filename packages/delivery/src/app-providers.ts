import { FCM_DEFAULT_ENDPOINT, type Config, type Logger } from '@push/config';
import type { Platform } from '@push/contract';
import { createApnsProvider, createFcmProvider, ProviderConfigError, type PushProvider } from '@push/providers';
import type { AppCredentials } from '@push/store';

/** Builds the provider of one app from its stored credentials (the environment builds the `default` app's). */
export type AppProviderFactory = (credentials: AppCredentials) => PushProvider;

/**
 * The provider of an app other than `default`: its own APNs key or FCM project, with the deployment's
 * connection settings. Throws ProviderConfigError when the app has no credentials for `platform`.
 * `ca`: a PEM CA to trust (simulators in tests; processes use NODE_EXTRA_CA_CERTS).
 */
export function appProviderFactory(platform: Platform, config: Config, logger: Logger, ca?: string): AppProviderFactory {
  const common = { timeoutMs: config.PROVIDER_TIMEOUT_MS, logger, ...(ca !== undefined && { ca }) };
  return ({ apns, fcm }) => {
    if (platform === 'ios') {
      if (!apns) throw new ProviderConfigError('the app has no APNs credentials (PATCH /admin/apps/:id {"apns": ...})');
      const { key, keyId, teamId, production, topic, host, port } = apns;
      return createApnsProvider({
        credentials: { key, keyId, teamId, production, defaultTopic: topic, ...(host && { host }), ...(port && { port }) },
        connections: config.APNS_CONNECTIONS,
        ...common,
      });
    }
    if (!fcm) throw new ProviderConfigError('the app has no FCM credentials (PATCH /admin/apps/:id {"fcm": ...})');
    return createFcmProvider({
      endpoint: fcm.endpoint ?? FCM_DEFAULT_ENDPOINT,
      ...(fcm.projectId && { projectId: fcm.projectId }),
      credential: fcm.accessToken ? { accessToken: fcm.accessToken } : { serviceAccount: fcm.serviceAccount! },
      connections: config.FCM_CONNECTIONS,
      ...common,
    });
  };
}

/** Stands in for an app's provider that cannot be built: every token fails with `reason`, nothing is sent. */
export function unavailableProvider(platform: Platform, reason: string): PushProvider {
  return {
    platform,
    send: (tokens) => Promise.resolve(tokens.map(() => ({ status: 'failed', reason }))),
    describe: () => Promise.resolve({ unavailable: reason }),
    close: () => Promise.resolve(),
  };
}
