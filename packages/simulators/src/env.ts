import { BehaviourError, parseBehaviour, type Kind } from './settings';
import type { StartSimulatorsOptions } from './start';

/** An environment variable the simulators cannot use; the message names it. */
export class SimulatorEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

type Env = Record<string, string | undefined>;

/** Variable -> behaviour key, with the simulators it applies to. Lists are comma-separated. */
const BEHAVIOUR_VARS: ReadonlyArray<{ name: string; key: string; list: boolean; kinds: Kind[] }> = [
  { name: 'SIM_LATENCY_MS', key: 'latencyMs', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_JITTER_MS', key: 'jitterMs', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_ERROR_RATE', key: 'errorRate', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_DEAD', key: 'dead', list: true, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_BAD', key: 'bad', list: true, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_FLAKY_ONCE', key: 'flakyOnce', list: true, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_THROTTLED', key: 'throttled', list: true, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_SLOW', key: 'slow', list: true, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_SLOW_MS', key: 'slowMs', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_RETRY_AFTER_SECONDS', key: 'retryAfterSeconds', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_RECORD_LIMIT', key: 'recordLimit', list: false, kinds: ['apns', 'fcm', 'webpush'] },
  { name: 'SIM_APNS_MAX_STREAMS', key: 'maxConcurrentStreams', list: false, kinds: ['apns'] },
  { name: 'SIM_APNS_MAX_TOKEN_AGE_SECONDS', key: 'maxTokenAgeSeconds', list: false, kinds: ['apns'] },
  { name: 'SIM_APNS_WRONG_TOPIC', key: 'wrongTopic', list: true, kinds: ['apns'] },
  { name: 'SIM_APNS_ALLOWED_TOPICS', key: 'allowedTopics', list: true, kinds: ['apns'] },
  { name: 'SIM_FCM_QUOTA_PER_MINUTE', key: 'quotaPerMinute', list: false, kinds: ['fcm'] },
  { name: 'SIM_FCM_SENDER_MISMATCH', key: 'senderMismatch', list: true, kinds: ['fcm'] },
  { name: 'SIM_FCM_DEVICE_THROTTLED', key: 'deviceThrottled', list: true, kinds: ['fcm'] },
  { name: 'SIM_WEBPUSH_BAD_REQUEST', key: 'badRequest', list: true, kinds: ['webpush'] },
  { name: 'SIM_WEBPUSH_MAX_PAYLOAD_BYTES', key: 'maxPayloadBytes', list: false, kinds: ['webpush'] },
];

/** Every variable the standalone simulators read, for the README and error messages. */
export const SIMULATOR_ENV_VARS = [
  'SIM_HOST',
  'SIM_APNS_PORT',
  'SIM_FCM_PORT',
  'SIM_WEBPUSH_PORT',
  'SIM_DIR',
  'SIM_CERT_HOSTS',
  'SIM_APNS_KEY_ID',
  'SIM_APNS_TEAM_ID',
  'SIM_FCM_PROJECT_ID',
  'SIM_FCM_ACCESS_TOKEN',
  ...BEHAVIOUR_VARS.map((v) => v.name),
];

/**
 * The standalone simulators' options from the environment (parsed once at start-up); throws
 * SimulatorEnvError naming the first invalid variable.
 */
export function simulatorOptionsFromEnv(env: Env = process.env): StartSimulatorsOptions {
  const byKind: Record<Kind, Record<string, unknown>> = { apns: {}, fcm: {}, webpush: {} };
  for (const v of BEHAVIOUR_VARS) {
    const raw = env[v.name];
    if (raw === undefined || raw.trim() === '') continue;
    const value = v.list ? list(raw) : number(v.name, raw);
    for (const kind of v.kinds) {
      try {
        parseBehaviour(kind, { [v.key]: value });
      } catch (err) {
        if (err instanceof BehaviourError) throw new SimulatorEnvError(`${v.name}: ${err.message}`);
        throw err;
      }
      byKind[kind][v.key] = value;
    }
  }
  const text = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  return {
    host: text('SIM_HOST') ?? '127.0.0.1',
    apnsPort: port(env, 'SIM_APNS_PORT', 2197),
    fcmPort: port(env, 'SIM_FCM_PORT', 4443),
    webpushPort: port(env, 'SIM_WEBPUSH_PORT', 4444),
    dir: text('SIM_DIR') ?? '.data/simulators',
    certHosts: list(env.SIM_CERT_HOSTS ?? ''),
    apns: { ...byKind.apns, keyId: text('SIM_APNS_KEY_ID'), teamId: text('SIM_APNS_TEAM_ID') },
    fcm: { ...byKind.fcm, projectId: text('SIM_FCM_PROJECT_ID'), accessToken: text('SIM_FCM_ACCESS_TOKEN') },
    webpush: byKind.webpush,
  };
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

function number(name: string, raw: string): number {
  const n = Number(raw.trim());
  if (!Number.isFinite(n)) throw new SimulatorEnvError(`${name} must be a number, got "${raw}"`);
  return n;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = number(name, raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new SimulatorEnvError(`${name} must be a port (0-65535), got "${raw}"`);
  return n;
}
