import type { OutgoingHttpHeaders } from 'node:http2';
import { maskToken, type FcmCredential, type Logger } from '@push/config';
import { toFcm, type Payload } from '@push/contract';
import { ProviderClosedError } from './errors';
import { InFlight } from './in-flight';
import { classifyFcm } from './fcm-classify';
import { createFcmAuth } from './fcm-credentials';
import { Http2SessionPool } from './fcm-session-pool';
import type { PushProvider, SendContext, SendOutcome } from './provider';
import { isFcmToken } from './token-format';
import { transportOutcome } from './transport';

export interface FcmProviderOptions {
  /** FCM HTTP v1 base URL (FCM_ENDPOINT), e.g. `https://fcm.googleapis.com`; a path prefix is kept. */
  endpoint: string;
  /** Firebase project id (FCM_PROJECT_ID). @defaultValue the service account's `project_id` */
  projectId?: string;
  credential: FcmCredential;
  /** Persistent HTTP/2 sessions to `endpoint`. */
  connections: number;
  /** How long one request may wait for its answer once sent, in milliseconds. */
  timeoutMs: number;
  logger?: Logger;
  /**
   * A PEM CA to trust for `endpoint` (simulators, proxies). It replaces Node's default trust store.
   * @defaultValue unset: Node's roots plus NODE_EXTRA_CA_CERTS
   */
  ca?: string;
}

/** Refused before sending: FCM tokens are [A-Za-z0-9_:-] (see token-format.ts). */
const BAD_FORMAT = 'INVALID_ARGUMENT: not an FCM registration token (not sent)';

/**
 * The FCM provider: one HTTP v1 `messages:send` request per token, multiplexed over a pool of persistent
 * HTTP/2 sessions. Not firebase-admin's messaging(): that cannot be pointed at another host, opens a new
 * session for every sendEach() and stops at 100 streams. Throws ProviderConfigError when the project id or
 * the service account cannot be found.
 */
export function createFcmProvider(options: FcmProviderOptions): PushProvider {
  const auth = createFcmAuth(options.credential, options.projectId);
  const base = new URL(options.endpoint);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Http2SessionPool({
    origin: base.origin,
    connections: options.connections,
    timeoutMs: options.timeoutMs,
    ...(options.ca !== undefined && { ca: options.ca }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });
  const logger = options.logger;
  const inFlight = new InFlight();
  let closing: Promise<void> | undefined;

  async function sendOne(
    path: string,
    headers: OutgoingHttpHeaders,
    body: (token: string) => string,
    token: string,
  ): Promise<{ outcome: SendOutcome; unauthenticated: boolean }> {
    if (!isFcmToken(token)) return { outcome: { status: 'failed', reason: BAD_FORMAT }, unauthenticated: false };
    let outcome: SendOutcome;
    let unauthenticated = false;
    try {
      const response = await pool.request({ path, headers, body: body(token) });
      outcome = classifyFcm(response.status, response.body, response.headers['retry-after']);
      unauthenticated = response.status === 401 && outcome.status === 'failed' && outcome.reason === 'UNAUTHENTICATED';
    } catch (error) {
      outcome = transportOutcome(error);
    }
    if (outcome.status !== 'sent') logger?.debug({ token: maskToken(token), ...outcome }, 'fcm answer');
    return { outcome, unauthenticated };
  }

  /** The request headers with a bearer token, or the reason none could be had (nothing is sent then). */
  async function authorized(): Promise<OutgoingHttpHeaders | string> {
    try {
      return { authorization: `Bearer ${await auth.accessToken()}`, 'content-type': 'application/json; charset=utf-8' };
    } catch (error) {
      logger?.warn({ err: (error as Error).message }, 'fcm access token unavailable');
      return `ACCESS_TOKEN_UNAVAILABLE: ${(error as Error).message}`;
    }
  }

  async function sendAll(tokens: readonly string[], payload: Payload, context: SendContext): Promise<SendOutcome[]> {
    const projectId = await auth.projectId();
    let headers = await authorized();
    // The OAuth server is unreachable or refused the credential: nothing was sent; retried later.
    if (typeof headers === 'string') return tokens.map(() => ({ status: 'retry', scope: 'token', reason: headers as string }));
    const path = `${prefix}/v1/projects/${encodeURIComponent(projectId)}/messages:send`;
    const body = messageBody(toFcm(payload, Date.now(), context.jobId));
    const answers = await Promise.all(tokens.map((token) => sendOne(path, headers as OutgoingHttpHeaders, body, token)));
    const refused = answers.flatMap((a, i) => (a.unauthenticated ? [i] : []));
    if (refused.length > 0 && auth.refreshable) {
      // An access token revoked or expired early: a new one, and the refused requests once more, before
      // anything is `failed` (a ready FCM_ACCESS_TOKEN cannot be replaced: its 401 is final at once).
      auth.invalidate();
      headers = await authorized();
      if (typeof headers !== 'string') {
        logger?.info({ tokens: refused.length }, 'fcm answered 401: credential refreshed, resending once');
        const again = await Promise.all(refused.map((i) => sendOne(path, headers as OutgoingHttpHeaders, body, tokens[i]!)));
        refused.forEach((i, k) => {
          answers[i] = again[k]!;
        });
      }
    }
    return answers.map((a) => a.outcome);
  }

  return {
    platform: 'android',
    send(tokens: readonly string[], payload: Payload, context: SendContext = {}): Promise<SendOutcome[]> {
      if (closing) return Promise.reject(new ProviderClosedError('FCM'));
      return inFlight.track(sendAll(tokens, payload, context));
    },
    describe: async () => ({ fcmProject: await auth.projectId(), fcmEndpoint: base.origin }),
    close(): Promise<void> {
      closing ??= inFlight.drained().then(() => pool.close());
      return closing;
    },
  };
}

/**
 * The request body `{"message": {...message, "token": token}}` for each token, with the message encoded
 * once per send instead of once per token (the token goes first; JSON objects have no order).
 */
export function messageBody(message: object): (token: string) => string {
  const rest = JSON.stringify(message).slice(1, -1);
  const tail = rest === '' ? '}}' : `,${rest}}}`;
  return (token) => `{"message":{"token":${JSON.stringify(token)}${tail}`;
}
