import { Notification } from '@parse/node-apn';
import { maskToken, type ApnsCredentials, type Logger } from '@push/config';
import { toApns, type ApnsNotification, type Payload } from '@push/contract';
import { classifyApns } from './apns-classify';
import { createApnsConnection, type ApnsAnswer } from './apns-connection';
import { ProviderClosedError } from './errors';
import { InFlight } from './in-flight';
import type { PushProvider, SendContext, SendOutcome } from './provider';
import { isApnsToken } from './token-format';

export interface ApnsProviderOptions {
  /** Token-auth key, ids, environment, default topic and the optional host/port override (APNS_HOST/APNS_PORT). */
  credentials: ApnsCredentials;
  /** HTTP/2 connections to APNs, used round-robin (node-apn's MultiProvider). */
  connections: number;
  /** How long one request may wait for its answer, in milliseconds. */
  timeoutMs: number;
  logger?: Logger;
  /**
   * A PEM CA to trust for the APNs endpoint (a simulator or a TLS-inspecting proxy). It replaces Node's
   * default trust store for these connections.
   * @defaultValue unset: Node's roots plus NODE_EXTRA_CA_CERTS
   */
  ca?: string;
}

/** Refused before sending: the token is not hex, so it could change the request path (see token-format.ts). */
const NOT_HEX = 'BadDeviceToken: not a hexadecimal token (not sent)';

/** The APNs provider: one HTTP/2 request per token over `connections` sessions, token (JWT) auth. */
export function createApnsProvider(options: ApnsProviderOptions): PushProvider {
  const connection = createApnsConnection(options);
  const logger = options.logger;
  const inFlight = new InFlight();
  let closing: Promise<void> | undefined;

  async function sendAll(notification: Notification, tokens: readonly string[], configuredTopic: boolean): Promise<SendOutcome[]> {
    const outcomes = new Array<SendOutcome>(tokens.length);
    const hex: string[] = [];
    const at: number[] = [];
    for (let i = 0; i < tokens.length; i++) {
      if (isApnsToken(tokens[i]!)) {
        hex.push(tokens[i]!);
        at.push(i);
      } else {
        outcomes[i] = { status: 'failed', reason: NOT_HEX };
      }
    }
    const answers = await connection.sendMany(notification, hex);
    // node-apn has already re-signed the shared JWT on such an answer (apns-connection.ts); Apple asks for
    // a new token and the same request again. Once only: a second refusal is classified like any 403.
    const expired: number[] = [];
    answers.forEach((answer, j) => {
      if (answer.status === 403 && answer.reason === 'ExpiredProviderToken') expired.push(j);
    });
    if (expired.length > 0) {
      logger?.debug({ tokens: expired.length }, 'APNs provider token expired: refreshed, resending once');
      const again = await connection.sendMany(
        notification,
        expired.map((j) => hex[j]!),
      );
      expired.forEach((j, k) => {
        answers[j] = again[k]!;
      });
    }
    answers.forEach((answer, j) => {
      const outcome = outcomeOf(answer, configuredTopic);
      if (outcome.status !== 'sent') logger?.debug({ token: maskToken(hex[j]!), ...outcome }, 'apns answer');
      outcomes[at[j]!] = outcome;
    });
    return outcomes;
  }

  return {
    platform: 'ios',
    async send(tokens: readonly string[], payload: Payload, context: SendContext = {}): Promise<SendOutcome[]> {
      if (closing) throw new ProviderClosedError('APNs');
      const { defaultTopic } = options.credentials;
      const notification = toNotification(toApns(payload, defaultTopic, context.jobId));
      const configuredTopic = payload.topic === undefined || payload.topic === defaultTopic;
      return inFlight.track(sendAll(notification, tokens, configuredTopic));
    },
    describe: () =>
      Promise.resolve({
        apnsEnvironment: options.credentials.production ? 'production' : 'sandbox',
        apnsHost: `${options.credentials.host ?? (options.credentials.production ? 'api.push.apple.com' : 'api.sandbox.push.apple.com')}:${options.credentials.port ?? 443}`,
        apnsTopic: options.credentials.defaultTopic ?? '',
        apnsKeyId: options.credentials.keyId,
      }),
    close(): Promise<void> {
      closing ??= (async () => {
        await inFlight.drained();
        await connection.shutdown();
      })();
      return closing;
    },
  };
}

const SENT: SendOutcome = Object.freeze({ status: 'sent' });

function outcomeOf(answer: ApnsAnswer, configuredTopic: boolean): SendOutcome {
  if (answer.status === 200) return SENT;
  if (answer.status === undefined) {
    // No HTTP answer (node-apn: 'apn write timeout', 'apn write aborted', session errors): the provider failing.
    const kind = /timeout/i.test(answer.error) ? 'Timeout' : 'ConnectionError';
    return { status: 'retry', scope: 'outage', reason: `${kind}: ${answer.error}` };
  }
  return classifyApns(answer.status, answer.reason, {
    configuredTopic,
    ...(answer.timestamp !== undefined && { timestamp: answer.timestamp }),
  });
}

/** The contract's mapping (`toApns`) carried by a node-apn Notification: raw body, headers as given. */
export function toNotification({ headers, body }: ApnsNotification): Notification {
  const notification = new Notification();
  notification.rawPayload = body;
  notification.pushType = headers['apns-push-type'];
  notification.priority = Number(headers['apns-priority']);
  if (headers['apns-topic'] !== undefined) notification.topic = headers['apns-topic'];
  if (headers['apns-expiration'] !== undefined) notification.expiry = Number(headers['apns-expiration']);
  if (headers['apns-collapse-id'] !== undefined) notification.collapseId = headers['apns-collapse-id'];
  return notification;
}
