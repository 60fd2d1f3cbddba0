import { Counter, Histogram, type Registry } from 'prom-client';
import { DEFAULT_APP, platforms, tokenStatuses } from '@push/contract';

/** Seconds a provider takes to answer one send group: a few ms from a simulator, up to the timeout. */
const providerBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * What a worker process counts, as hooks of the delivery pipeline (its `DeliveryEvents`): final results,
 * provider answer times, retries, quota pauses and dead tokens, each by platform and app. The methods
 * count for the `default` app; `forApp(app)` gives the same hooks for another.
 */
export interface DeliveryMetrics extends AppDeliveryMetrics {
  forApp(app: string): AppDeliveryMetrics;
}

export interface AppDeliveryMetrics {
  recorded(platform: string, results: readonly { status: string }[]): void;
  sent(platform: string, tokens: number, seconds: number): void;
  retried(platform: string, tokens: number): void;
  paused(platform: string, ms: number): void;
  deadRemoved(platform: string, tokens: number): void;
  deadKept(platform: string, tokens: number): void;
  misconfiguration(platform: string, causes: readonly string[], answers: number): void;
  breakerOpened(platform: string, ms: number): void;
}

export function deliveryMetrics(registry: Registry): DeliveryMetrics {
  const registers = [registry];
  const notifications = new Counter({
    name: 'push_notifications_total',
    help: 'Final per-token results recorded, by platform, status (sent, failed, invalid, expired, canceled) and app.',
    labelNames: ['platform', 'status', 'app'] as const,
    registers,
  });
  const providerSeconds = new Histogram({
    name: 'push_provider_request_duration_seconds',
    help: 'Time the provider took to answer one send group (up to APNS_BATCH_SIZE / FCM_BATCH_SIZE tokens).',
    labelNames: ['platform', 'app'] as const,
    buckets: providerBuckets,
    registers,
  });
  const providerTokens = new Counter({
    name: 'push_provider_tokens_total',
    help: 'Tokens handed to the provider (every attempt; retries count again).',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'push_retries_total',
    help: 'Tokens whose temporary failure was scheduled for another attempt.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const pauses = new Counter({
    name: 'push_rate_limit_pauses_total',
    help: 'Times a provider quota answer paused the platform queue.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const pauseSeconds = new Counter({
    name: 'push_rate_limit_pause_seconds_total',
    help: 'Seconds of queue pause asked for by provider quota answers.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const dead = new Counter({
    name: 'push_dead_tokens_removed_total',
    help: 'Tokens the provider reported dead, removed from the registry.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const kept = new Counter({
    name: 'push_dead_tokens_kept_total',
    help: 'Tokens the provider called dead, kept registered because the dead-token guard suspects a misconfiguration.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const misconfigurations = new Counter({
    name: 'push_suspected_misconfiguration_total',
    help: 'Windows of answers the dead-token guard judged a misconfiguration (each pauses the platform): alert on any increase.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  const breakerOpens = new Counter({
    name: 'push_provider_breaker_opens_total',
    help: 'Times the provider breaker opened (provider failing: sending held), probes that failed included.',
    labelNames: ['platform', 'app'] as const,
    registers,
  });
  // Zero series of the default app from the start, so rate() and alerts see them before the first event.
  for (const platform of platforms) {
    for (const status of tokenStatuses) notifications.inc({ platform, status, app: DEFAULT_APP }, 0);
    for (const counter of [providerTokens, retries, pauses, pauseSeconds, dead, kept, misconfigurations, breakerOpens])
      counter.inc({ platform, app: DEFAULT_APP }, 0);
  }

  const forApp = (app: string): AppDeliveryMetrics => ({
    recorded(platform, results) {
      const byStatus = new Map<string, number>();
      for (const { status } of results) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      for (const [status, n] of byStatus) notifications.inc({ platform, status, app }, n);
    },
    sent(platform, tokens, seconds) {
      providerSeconds.observe({ platform, app }, seconds);
      providerTokens.inc({ platform, app }, tokens);
    },
    retried(platform, tokens) {
      retries.inc({ platform, app }, tokens);
    },
    paused(platform, ms) {
      pauses.inc({ platform, app });
      pauseSeconds.inc({ platform, app }, ms / 1000);
    },
    deadRemoved(platform, tokens) {
      dead.inc({ platform, app }, tokens);
    },
    deadKept(platform, tokens) {
      kept.inc({ platform, app }, tokens);
    },
    misconfiguration(platform) {
      misconfigurations.inc({ platform, app });
    },
    breakerOpened(platform) {
      breakerOpens.inc({ platform, app });
    },
  });
  return { ...forApp(DEFAULT_APP), forApp };
}
