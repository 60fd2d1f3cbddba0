import { FCM_DEFAULT_ENDPOINT, type Logger } from '@push/config';
import type { HostPattern, Platform } from '@push/contract';
import { createApnsProvider, createFcmProvider, createWebPushProvider, ProviderConfigError, type PushProvider } from '@push/providers';
import type { AppCredentials } from '@push/store';

/** Builds the provider of one app from its stored credentials (the environment builds the `default` app's). */
export type AppProviderFactory = (credentials: AppCredentials) => PushProvider;

export interface AppProviderOptions {
  /** HTTP/2 connections per app (APNS_CONNECTIONS / FCM_CONNECTIONS). */
  connections: number;
  timeoutMs: number;
  logger: Logger;
  /** A PEM CA to trust (simulators in tests; processes use NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** Web Push: WEBPUSH_ALLOWED_ENDPOINTS, the deployment's allowlist, which every app's subscriptions obey. */
  allowedEndpoints?: readonly HostPattern[];
}

/**
 * The provider of an app other than `default`: its own APNs key or FCM project, with the deployment's
 * connection settings. Throws ProviderConfigError when the app has no credentials for `platform`.
 */
export function appProviderFactory(
  platform: Platform,
  { connections, timeoutMs, logger, ca, allowedEndpoints }: AppProviderOptions,
): AppProviderFactory {
  const common = { connections, timeoutMs, logger, ...(ca !== undefined && { ca }) };
  return ({ apns, fcm, webpush }) => {
    if (platform === 'web') {
      if (!webpush) throw new ProviderConfigError('the app has no Web Push VAPID keys (PATCH /admin/apps/:id {"webpush": ...})');
      if (!allowedEndpoints) throw new ProviderConfigError('a Web Push worker gives its WEBPUSH_ALLOWED_ENDPOINTS');
      return createWebPushProvider({
        vapid: webpush,
        allowedEndpoints,
        connectionsPerOrigin: connections,
        timeoutMs,
        logger,
        ...(ca !== undefined && { ca }),
      });
    }
    if (platform === 'ios') {
      if (!apns) throw new ProviderConfigError('the app has no APNs credentials (PATCH /admin/apps/:id {"apns": ...})');
      const { key, keyId, teamId, production, topic, host, port } = apns;
      return createApnsProvider({
        credentials: { key, keyId, teamId, production, defaultTopic: topic, ...(host && { host }), ...(port && { port }) },
        ...common,
      });
    }
    if (!fcm) throw new ProviderConfigError('the app has no FCM credentials (PATCH /admin/apps/:id {"fcm": ...})');
    return createFcmProvider({
      endpoint: fcm.endpoint ?? FCM_DEFAULT_ENDPOINT,
      ...(fcm.projectId && { projectId: fcm.projectId }),
      credential: fcm.accessToken ? { accessToken: fcm.accessToken } : { serviceAccount: fcm.serviceAccount! },
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
