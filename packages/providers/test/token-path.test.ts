import { createApnsProvider, createFcmProvider, type PushProvider } from '@push/providers';
import { startApnsSimulator, startFcmSimulator, type ApnsSimulator, type FcmSimulator } from '@push/simulators';

/**
 * A device token with path characters handed straight to a provider (as if the registry had been
 * written around the API) must never change the request path: APNs only ever sees `/3/device/<hex>`,
 * FCM only `/v1/projects/<id>/messages:send`. The simulators count every request, any path: a request
 * elsewhere would show as APNs `BadPath` / FCM `NOT_FOUND`, or as a recorded token that is not hex.
 */

const HEX = 'a1b2c3d4'.repeat(8);
const FCM = 'fcm_valid_token:0123456789-abcdefghijklmnop';

const pathTricks = (base: string) => [
  `../../../4/broadcasts/apps/${base}`,
  `${base}/../../../v1/projects/other/messages:send`,
  `${base}/x`,
  `/${base}`,
  `${base}%2F..%2F..`,
  `%2e%2e%2f${base}`,
  `${base}?topic=evil`,
  `${base}#fragment`,
  `${base}\r\nx-injected: 1`,
  `${base}\n`,
  `${base} `,
  `${base}.`,
  `${base}\u0000`,
  `ＡＢＣＤ${base}`,
  '',
];

let apns: ApnsSimulator;
let fcm: FcmSimulator;
const providers: PushProvider[] = [];

beforeAll(async () => {
  [apns, fcm] = await Promise.all([startApnsSimulator(), startFcmSimulator()]);
  providers.push(
    createApnsProvider({
      credentials: {
        key: apns.signingKeyPem,
        keyId: apns.keyId,
        teamId: apns.teamId,
        production: false,
        defaultTopic: 'io.test.app',
        host: apns.host,
        port: apns.port,
      },
      connections: 1,
      timeoutMs: 5000,
      ca: apns.caPem,
    }),
    createFcmProvider({
      endpoint: fcm.url,
      projectId: fcm.projectId,
      credential: { accessToken: fcm.accessToken },
      connections: 1,
      timeoutMs: 5000,
      ca: fcm.caPem,
    }),
  );
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await Promise.all([apns.close(), fcm.close()]);
});

test.each([
  ['APNs', 0, HEX, () => apns],
  ['FCM', 1, FCM, () => fcm],
] as const)(
  '%s: tokens with path characters are refused without a request; only the valid token reaches the provider, on its own path',
  async (_name, index, valid, sim) => {
    sim().reset();
    const provider = providers[index]!;
    const hostile = pathTricks(valid);
    // An upper-case copy of the valid token is valid too (hex / FCM's alphabet): two requests in all.
    const tokens = [valid, ...hostile, valid.toUpperCase()];
    const outcomes = await provider.send(tokens, { alert: 'path test' });

    expect(outcomes[0]).toEqual({ status: 'sent' });
    expect(outcomes.slice(1, -1)).toEqual(hostile.map(() => ({ status: 'failed', reason: expect.stringMatching(/not sent/) })));
    const validCount = 2;
    expect(outcomes.filter((o) => o.status === 'sent')).toHaveLength(validCount);

    // Exactly the valid requests reached the simulator, none on another path, each recorded for a valid token.
    const stats = sim().stats();
    expect(stats.requests).toBe(validCount);
    expect(stats.rejected).toEqual({});
    const recorded = sim()
      .received()
      .map((n) => n.token);
    expect(recorded).toHaveLength(validCount);
    for (const token of recorded) expect(token).toMatch(index === 0 ? /^[0-9a-fA-F]{64}$/ : /^[A-Za-z0-9_:-]+$/);
  },
);
