import type { ClientHttp2Session } from 'node:http2';
import { MultiProvider, type Notification, type ResponseFailure } from '@parse/node-apn';
import type { ApnsCredentials, Logger } from '@push/config';
import { probeSession } from './http2-probe';

/**
 * node-apn (@parse/node-apn 8.x) set up the way this service needs it, and its answers flattened to
 * `{ status, reason }`. Everything that depends on the library's internals is in this file.
 */

/** One token's answer: an HTTP status with APNs' reason, or no HTTP answer at all (`error`). */
export type ApnsAnswer = { status: number; reason?: string; timestamp?: number } | { status: undefined; error: string };

export interface ApnsConnection {
  /**
   * Sends one notification to many tokens concurrently (node-apn's own multi-recipient send: the
   * notification's headers and body are built once) and returns the answers in the order of `tokens`.
   */
  sendMany(notification: Notification, tokens: readonly string[]): Promise<ApnsAnswer[]>;
  /** Closes every HTTP/2 session once its open streams have finished. */
  shutdown(): Promise<void>;
}

export interface ApnsConnectionOptions {
  credentials: ApnsCredentials;
  connections: number;
  timeoutMs: number;
  ca?: string;
  logger?: Logger;
}

/** The slice of node-apn's internals we touch (lib/multiclient.js, lib/client.js, lib/credentials/token/prepare.js). */
type LibLog = ((message: string) => void) & { enabled: boolean };
interface LibClient {
  config: { token: unknown };
  session?: ClientHttp2Session | null;
  setLogger(logger: LibLog, errorLogger?: LibLog): void;
  closeAndDestroySession(session?: { destroyed: boolean } | null): Promise<void>;
}
interface LibMultiClient {
  clients: LibClient[];
}

export function createApnsConnection(options: ApnsConnectionOptions): ApnsConnection {
  const { credentials } = options;
  const provider = new MultiProvider({
    token: { key: credentials.key, keyId: credentials.keyId, teamId: credentials.teamId },
    production: credentials.production,
    ...(credentials.host !== undefined && { address: credentials.host }),
    ...(credentials.port !== undefined && { port: credentials.port }),
    // node-apn hands its whole config to http2.connect(), so `ca` reaches tls.connect(): it replaces the
    // default trust store for these sessions. Without it Node's roots plus NODE_EXTRA_CA_CERTS apply.
    ...(options.ca !== undefined && { ca: [options.ca] }),
    clientCount: options.connections,
    requestTimeout: options.timeoutMs,
    // node-apn resends 408/429/5xx (and 403 ExpiredProviderToken) itself, at once and up to this many
    // times; it also reads `Retry-After` as headers['Retry-After'], which Node never produces (header
    // names are lower-cased), so it never waits. 0 turns that off (lib/client.js `retryRequest`: the
    // first resend already exceeds the limit and the original answer is returned): the worker's retry
    // policy is the only one.
    connectionRetryLimit: 0,
  });
  const clients = internals(provider).clients;
  shareOneProviderToken(clients);
  skipDestroyedSessionsOnClose(clients);
  if (options.logger) for (const client of clients) client.setLogger(bridge(options.logger, 'debug'), bridge(options.logger, 'info'));

  return {
    async sendMany(notification, tokens) {
      if (tokens.length === 0) return [];
      const { sent, failed } = await provider.send(notification, tokens as string[]);
      // node-apn answers in completion order; every answer names its token (`device`, lib/client.js
      // `write`). A token listed twice was sent twice and has two answers, taken in turn (a list only
      // then: this runs once per token).
      const byToken = new Map<string, ApnsAnswer | ApnsAnswer[]>();
      const add = (device: unknown, answer: ApnsAnswer) => {
        if (typeof device !== 'string') return;
        const had = byToken.get(device);
        if (had === undefined) byToken.set(device, answer);
        else if (Array.isArray(had)) had.push(answer);
        else byToken.set(device, [had, answer]);
      };
      const take = (token: string): ApnsAnswer => {
        const had = byToken.get(token);
        if (!Array.isArray(had)) {
          byToken.delete(token);
          return had ?? NO_ANSWER;
        }
        return had.shift() ?? NO_ANSWER;
      };
      for (const s of sent) add((s as { device?: unknown }).device, SENT);
      let timedOut = false;
      for (const f of failed) {
        const answer = toAnswer(f);
        if (answer.status === undefined && /timeout/i.test(answer.error)) timedOut = true;
        add((f as { device?: unknown }).device, answer);
      }
      // node-apn's heartbeat PING only logs when unanswered, so a silently dead connection would swallow
      // requests until TCP gives up. We cannot tell which client timed out: probe each session.
      if (timedOut) for (const client of clients) if (client.session) probeSession(client.session, options.timeoutMs);
      return tokens.map(take);
    },
    shutdown: () => new Promise<void>((resolve) => void provider.shutdown(resolve)),
  };
}

const SENT: ApnsAnswer = { status: 200 };
const NO_ANSWER: ApnsAnswer = { status: undefined, error: 'no answer from node-apn' };

function internals(provider: MultiProvider): LibMultiClient {
  const client = (provider as unknown as { client?: Partial<LibMultiClient> }).client;
  const clients = client?.clients;
  if (
    !Array.isArray(clients) ||
    clients.length === 0 ||
    clients.some((c) => !c?.config?.token || typeof c.setLogger !== 'function' || typeof c.closeAndDestroySession !== 'function')
  ) {
    throw new Error('@parse/node-apn internals changed (MultiProvider.client.clients[]): check apns-connection.ts');
  }
  return { clients };
}

/**
 * Every node-apn Client signs its own JWT, so N connections would mean N provider tokens refreshed
 * independently. Apple wants one token per team reused for as close to an hour as possible and answers
 * 429 TooManyProviderTokenUpdates when tokens change more than once every 20 minutes ("Establishing a
 * token-based connection to APNs"; Apple DTS, developer forums thread 702056). So all clients share the
 * first client's token object. Its rules (lib/client.js, lib/credentials/token/prepare.js): reused until
 * 55 minutes old (`isExpired(3300)`), then re-signed; re-signed at once after an ExpiredProviderToken
 * answer, once per token generation however many requests got that answer at the same time.
 */
function shareOneProviderToken(clients: LibClient[]): void {
  const shared = clients[0]!.config.token;
  for (const client of clients) client.config.token = shared;
}

/**
 * node-apn's shutdown never resolves when a session was destroyed by an error (a failed TLS handshake, a
 * reset): `closeAndDestroySession` calls `session.close(callback)` because `session.closed` is still
 * false, and Node never calls back on a destroyed session. A destroyed session has nothing left to
 * close, so it is skipped. (Checked synchronously: a session not yet destroyed here still emits 'close'.)
 */
function skipDestroyedSessionsOnClose(clients: LibClient[]): void {
  for (const client of clients) {
    const original = client.closeAndDestroySession.bind(client);
    client.closeAndDestroySession = async (session) => (session?.destroyed ? undefined : original(session));
  }
}

/** node-apn reports failures in several shapes (lib/client.js `request`/`write`); this flattens them. */
function toAnswer(failure: ResponseFailure | undefined): ApnsAnswer {
  if (!failure) return NO_ANSWER;
  const status = typeof failure.status === 'number' ? failure.status : undefined;
  if (status !== undefined) {
    if (failure.response?.reason) {
      // A 410's body also has `timestamp`: when APNs found the token no longer valid (epoch ms).
      const timestamp = Number((failure.response as { timestamp?: unknown }).timestamp);
      return { status, reason: failure.response.reason, ...(Number.isFinite(timestamp) && timestamp > 0 && { timestamp }) };
    }
    // 403 ExpiredProviderToken and 500 InternalServerError come back as an Error instead of the body.
    if (status === 403 && failure.error?.message === 'ExpiredProviderToken') return { status, reason: 'ExpiredProviderToken' };
    if (status === 500) return { status, reason: 'InternalServerError' };
    return { status };
  }
  // No HTTP answer: timeout, reset, connection error. A thrown Error may arrive spread into the object.
  const loose = failure as ResponseFailure & { code?: string; message?: string };
  return { status: undefined, error: failure.error?.message ?? loose.message ?? loose.code ?? 'unknown node-apn error' };
}

function bridge(logger: Logger, level: 'debug' | 'info'): LibLog {
  const log = ((message: string) => logger[level]({ lib: 'node-apn' }, message)) as LibLog;
  Object.defineProperty(log, 'enabled', { get: () => logger.isLevelEnabled(level) });
  return log;
}
