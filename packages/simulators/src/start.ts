import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startApnsSimulator } from './apns';
import { startFcmSimulator } from './fcm';
import { appleId, generateSigningKey } from './jwt';
import { startWebPushSimulator } from './webpush';
import type {
  ApnsBehaviour,
  ApnsSimulator,
  CommonBehaviour,
  FcmBehaviour,
  FcmSimulator,
  WebPushBehaviour,
  WebPushSimulator,
} from './types';

export interface StartSimulatorsOptions {
  /** @defaultValue 127.0.0.1 */
  host?: string;
  /** @defaultValue 0 (a free port); the CLI uses 2197 */
  apnsPort?: number;
  /** @defaultValue 0 (a free port); the CLI uses 4443 */
  fcmPort?: number;
  /** @defaultValue 0 (a free port); the CLI uses 4444 */
  webpushPort?: number;
  /**
   * Where the CA, the APNs key (`apns-key.p8`) and the ids (`simulators.json`) are kept and reused across
   * restarts, so running workers keep trusting and authenticating. Unset: fresh ones in a temp directory.
   */
  dir?: string;
  /** Extra DNS names or IP addresses their certificate is valid for (SIM_CERT_HOSTS). @defaultValue none */
  certHosts?: string[];
  /** Behaviour for both simulators (each one's own settings below win). */
  common?: CommonBehaviour;
  apns?: ApnsBehaviour & { keyId?: string; teamId?: string; signingKeyPem?: string };
  fcm?: FcmBehaviour & { projectId?: string; accessToken?: string };
  webpush?: WebPushBehaviour;
}

/** Where the simulators listen and what a worker needs to use them. */
export interface SimulatorsInfo {
  apns: { url: string; keyId: string; teamId: string; keyFile: string };
  fcm: { url: string; projectId: string; accessToken: string };
  /** `endpointHost`: the host pattern WEBPUSH_ALLOWED_ENDPOINTS needs for the simulator's endpoints. */
  webpush: { url: string; endpointHost: string };
  caFile: string;
  /** The environment of a worker pointed at the simulators (names of the project's contract). */
  env: Record<string, string>;
}

export interface Simulators {
  apns: ApnsSimulator;
  fcm: FcmSimulator;
  webpush: WebPushSimulator;
  info: SimulatorsInfo;
  /** `info` as text for a person: where they listen, the worker environment, how to look inside. */
  describe(): string;
  close(): Promise<void>;
}

interface Identity {
  keyId: string;
  teamId: string;
  projectId: string;
  accessToken: string;
}

/** Starts the three simulators on one CA; used by the standalone CLI and by the all-in-one `npm start`. */
export async function startSimulators(options: StartSimulatorsOptions = {}): Promise<Simulators> {
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir ? path.resolve(options.dir) : undefined;
  const { apns: apnsOptions = {}, fcm: fcmOptions = {} } = options;
  const saved = dir ? await loadIdentity(dir) : undefined;
  const identity: Identity = {
    keyId: apnsOptions.keyId ?? saved?.identity.keyId ?? appleId(),
    teamId: apnsOptions.teamId ?? saved?.identity.teamId ?? appleId(),
    projectId: fcmOptions.projectId ?? saved?.identity.projectId ?? 'sim-project',
    accessToken: fcmOptions.accessToken ?? saved?.identity.accessToken ?? `ya29.sim-${randomBytes(24).toString('base64url')}`,
  };
  const signingKeyPem = apnsOptions.signingKeyPem ?? saved?.keyPem ?? generateSigningKey().privatePem;

  const [apns, fcm, webpush] = await Promise.all([
    startApnsSimulator({
      ...options.common,
      ...apnsOptions,
      keyId: identity.keyId,
      teamId: identity.teamId,
      signingKeyPem,
      host,
      port: options.apnsPort ?? 0,
      certDir: dir,
      certHosts: options.certHosts,
    }),
    startFcmSimulator({
      ...options.common,
      ...fcmOptions,
      projectId: identity.projectId,
      accessToken: identity.accessToken,
      host,
      port: options.fcmPort ?? 0,
      certDir: dir,
      certHosts: options.certHosts,
    }),
    startWebPushSimulator({
      ...options.common,
      ...options.webpush,
      host,
      port: options.webpushPort ?? 0,
      certDir: dir,
      certHosts: options.certHosts,
    }),
  ]);
  const keyDir = dir ?? path.dirname(apns.caFile);
  const keyFile = path.join(keyDir, 'apns-key.p8');
  await fs.writeFile(keyFile, signingKeyPem, { mode: 0o600 });
  if (dir) await fs.writeFile(path.join(dir, 'simulators.json'), `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });

  const info: SimulatorsInfo = {
    apns: { url: apns.url, keyId: apns.keyId, teamId: apns.teamId, keyFile },
    fcm: { url: fcm.url, projectId: fcm.projectId, accessToken: fcm.accessToken },
    webpush: { url: webpush.url, endpointHost: new URL(webpush.url).host },
    caFile: apns.caFile,
    env: {
      APNS_HOST: apns.host,
      APNS_PORT: String(apns.port),
      APNS_KEY_FILE: keyFile,
      APNS_KEY_ID: apns.keyId,
      APNS_TEAM_ID: apns.teamId,
      FCM_ENDPOINT: fcm.url,
      FCM_PROJECT_ID: fcm.projectId,
      FCM_ACCESS_TOKEN: fcm.accessToken,
      WEBPUSH_ALLOWED_ENDPOINTS: new URL(webpush.url).host,
      NODE_EXTRA_CA_CERTS: apns.caFile,
    },
  };
  return {
    apns,
    fcm,
    webpush,
    info,
    describe: () => describe(info),
    close: async () => {
      await Promise.all([apns.close(), fcm.close(), webpush.close()]);
    },
  };
}

async function loadIdentity(dir: string): Promise<{ identity: Partial<Identity>; keyPem?: string }> {
  const [json, keyPem] = await Promise.all([
    fs.readFile(path.join(dir, 'simulators.json'), 'utf8').catch(() => undefined),
    fs.readFile(path.join(dir, 'apns-key.p8'), 'utf8').catch(() => undefined),
  ]);
  let identity: Partial<Identity> = {};
  try {
    if (json) identity = JSON.parse(json) as Partial<Identity>;
  } catch {
    // A damaged file is replaced by fresh ids below.
  }
  return { identity, keyPem };
}

function describe(info: SimulatorsInfo): string {
  const env = Object.entries(info.env).map(([k, v]) => `  export ${k}=${shellQuote(v)}`);
  return [
    'Provider simulators (no real APNs, FCM or Web Push service is contacted)',
    `  APNs  ${info.apns.url}  (HTTP/2, token auth: keyId ${info.apns.keyId}, teamId ${info.apns.teamId}, key ${info.apns.keyFile})`,
    `  FCM   ${info.fcm.url}  (HTTP v1: project ${info.fcm.projectId}, bearer token in FCM_ACCESS_TOKEN)`,
    `  Web Push ${info.webpush.url}  (VAPID checked, payloads decrypted; a browser-like subscription: curl -k -X POST ${info.webpush.url}/_sim/subscribe)`,
    `  CA    ${info.caFile}`,
    'Worker environment:',
    ...env,
    'What they received / counters / reset:',
    `  curl --http2 -k ${info.apns.url}/_sim/received    curl -k ${info.fcm.url}/_sim/received    curl -k ${info.webpush.url}/_sim/received`,
    `  curl --http2 -k ${info.apns.url}/_sim/stats       curl -k -X POST ${info.fcm.url}/_sim/reset`,
  ].join('\n');
}

function shellQuote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
