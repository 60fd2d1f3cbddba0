import { createECDH } from 'node:crypto';
import { ConfigError, loadConfig, redactConfig, webPushCredentials } from '@push/config';

function keyPair(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes; VAPID keys are always 32.
  return {
    publicKey: ecdh.getPublicKey('base64url'),
    privateKey: Buffer.from(ecdh.getPrivateKey('hex').padStart(64, '0'), 'hex').toString('base64url'),
  };
}

describe('Web Push settings', () => {
  it('gives the VAPID identity to the worker and keeps the private key out of logs', () => {
    const { publicKey, privateKey } = keyPair();
    const config = loadConfig({
      WEBPUSH_VAPID_PUBLIC_KEY: publicKey,
      WEBPUSH_VAPID_PRIVATE_KEY: privateKey,
      WEBPUSH_SUBJECT: 'https://example.com/contact',
    });
    expect(webPushCredentials(config)).toEqual({ publicKey, privateKey, subject: 'https://example.com/contact' });
    expect(redactConfig(config).WEBPUSH_VAPID_PRIVATE_KEY).toBe('[redacted]');
    expect(JSON.stringify(redactConfig(config))).not.toContain(privateKey);
  });

  it("allows the browsers' push services by default", () => {
    expect(loadConfig({}).WEBPUSH_ALLOWED_ENDPOINTS.map((p) => `${p.anySubdomain ? '*.' : ''}${p.host}`)).toEqual([
      'fcm.googleapis.com',
      '*.push.services.mozilla.com',
      '*.notify.windows.com',
      '*.push.apple.com',
    ]);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ WEBPUSH_VAPID_PUBLIC_KEY: 'abc' }, /^Invalid environment variable WEBPUSH_VAPID_PUBLIC_KEY: /],
    [
      { WEBPUSH_VAPID_PUBLIC_KEY: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url') },
      /^Invalid environment variable WEBPUSH_VAPID_PUBLIC_KEY: must be a point on P-256/,
    ],
    [{ WEBPUSH_VAPID_PRIVATE_KEY: 'not+base64' }, /^Invalid environment variable WEBPUSH_VAPID_PRIVATE_KEY: /],
    [{ WEBPUSH_SUBJECT: 'ops@example.com' }, /^Invalid environment variable WEBPUSH_SUBJECT: must be a mailto: address or an https: URL/],
    [
      { WEBPUSH_ALLOWED_ENDPOINTS: 'https://fcm.googleapis.com' },
      /^Invalid environment variable WEBPUSH_ALLOWED_ENDPOINTS: "https:\/\/fcm.googleapis.com" is not a host pattern/,
    ],
    [{ WEBPUSH_CONNECTIONS: '0' }, /^Invalid environment variable WEBPUSH_CONNECTIONS: /],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('refuses to start a Web Push worker without all three, or with keys of two different pairs', () => {
    const a = keyPair();
    const b = keyPair();
    expect(() => webPushCredentials(loadConfig({}))).toThrow(/^WEBPUSH_VAPID_PUBLIC_KEY is required/);
    expect(() => webPushCredentials(loadConfig({ WEBPUSH_VAPID_PUBLIC_KEY: a.publicKey }))).toThrow(
      /^WEBPUSH_VAPID_PRIVATE_KEY is required/,
    );
    expect(() =>
      webPushCredentials(loadConfig({ WEBPUSH_VAPID_PUBLIC_KEY: a.publicKey, WEBPUSH_VAPID_PRIVATE_KEY: a.privateKey })),
    ).toThrow(/^WEBPUSH_SUBJECT is required/);
    expect(() =>
      webPushCredentials(
        loadConfig({ WEBPUSH_VAPID_PUBLIC_KEY: a.publicKey, WEBPUSH_VAPID_PRIVATE_KEY: b.privateKey, WEBPUSH_SUBJECT: 'mailto:a@b.c' }),
      ),
    ).toThrow(/^WEBPUSH_VAPID_PRIVATE_KEY does not belong to WEBPUSH_VAPID_PUBLIC_KEY/);
  });
});
