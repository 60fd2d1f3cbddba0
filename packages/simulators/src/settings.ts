import type { ApnsBehaviour, FcmBehaviour, WebPushBehaviour } from './types';

export type Kind = 'apns' | 'fcm' | 'webpush';

/** A behaviour setting that cannot be used; the message names it. */
export class BehaviourError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

type Rule = { type: 'number'; min: number; max?: number; integer?: boolean } | { type: 'list' } | { type: 'boolean' };

const COMMON: Record<string, Rule> = {
  latencyMs: { type: 'number', min: 0 },
  jitterMs: { type: 'number', min: 0 },
  errorRate: { type: 'number', min: 0, max: 1 },
  outageUntil: { type: 'number', min: 0 },
  outageStatus: { type: 'number', min: 400, max: 599, integer: true },
  slowMs: { type: 'number', min: 0 },
  retryAfterSeconds: { type: 'number', min: 0, integer: true },
  recordLimit: { type: 'number', min: 0, integer: true },
  dead: { type: 'list' },
  bad: { type: 'list' },
  flakyOnce: { type: 'list' },
  throttled: { type: 'list' },
  slow: { type: 'list' },
};

const RULES: Record<Kind, Record<string, Rule>> = {
  apns: {
    ...COMMON,
    wrongTopic: { type: 'list' },
    unregisteredAt: { type: 'number', min: 0, integer: true },
    allowedTopics: { type: 'list' },
    maxConcurrentStreams: { type: 'number', min: 1, max: 2 ** 31 - 1, integer: true },
    maxTokenAgeSeconds: { type: 'number', min: 0 },
  },
  fcm: {
    ...COMMON,
    senderMismatch: { type: 'list' },
    deviceThrottled: { type: 'list' },
    outageRetryAfter: { type: 'boolean' },
    quotaPerMinute: { type: 'number', min: 0 },
  },
  webpush: {
    ...COMMON,
    badRequest: { type: 'list' },
    maxPayloadBytes: { type: 'number', min: 0, integer: true },
  },
};

/** The names `kind` accepts, for messages and the README. */
export function behaviourKeys(kind: Kind): string[] {
  return Object.keys(RULES[kind]);
}

/**
 * Checks a behaviour coming from outside (code, the control endpoint, the environment) and returns it
 * typed; throws BehaviourError naming the first bad key. Undefined values are kept (they mean "default").
 */
export function parseBehaviour(kind: 'apns', input: unknown): Partial<ApnsBehaviour>;
export function parseBehaviour(kind: 'fcm', input: unknown): Partial<FcmBehaviour>;
export function parseBehaviour(kind: 'webpush', input: unknown): Partial<WebPushBehaviour>;
export function parseBehaviour(kind: Kind, input: unknown): Partial<ApnsBehaviour & FcmBehaviour & WebPushBehaviour>;
export function parseBehaviour(kind: Kind, input: unknown): Partial<ApnsBehaviour & FcmBehaviour & WebPushBehaviour> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new BehaviourError('behaviour must be an object');
  }
  const rules = RULES[kind];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const rule = rules[key];
    if (!rule && value === undefined) continue;
    if (!rule) throw new BehaviourError(`unknown ${kind} behaviour "${key}" (known: ${behaviourKeys(kind).join(', ')})`);
    if (value === undefined) {
      // Kept: undefined sets the key back to its default.
    } else if (rule.type === 'boolean') {
      if (typeof value !== 'boolean') throw new BehaviourError(`${key} must be true or false`);
    } else if (rule.type === 'list') {
      if (!Array.isArray(value) || !value.every((t) => typeof t === 'string')) {
        throw new BehaviourError(`${key} must be an array of strings`);
      }
    } else {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        value >= rule.min &&
        (rule.max === undefined || value <= rule.max) &&
        (!rule.integer || Number.isInteger(value));
      if (!ok) {
        const range = rule.max === undefined ? `>= ${rule.min}` : `${rule.min}..${rule.max}`;
        throw new BehaviourError(`${key} must be ${rule.integer ? 'an integer' : 'a number'} ${range}, got ${JSON.stringify(value)}`);
      }
    }
    out[key] = value;
  }
  return out;
}
