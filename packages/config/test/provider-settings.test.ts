import { apnsCredentials, ConfigError, loadConfig } from '@push/config';

const key = 'api-key-0123456789abcdef';
const pem = '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n';
const apns = { APNS_KEY: pem, APNS_KEY_ID: 'KEY1234567', APNS_TEAM_ID: 'TEAM123456', APNS_TOPIC: 'io.example.app' };

describe('start-up refuses APNs settings that cannot work, naming the variable', () => {
  it('APNs credentials without APNS_TOPIC (every send would fail MissingTopic)', () => {
    expect(() => loadConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: undefined })).toThrow(
      new ConfigError('APNS_TOPIC is required with APNS_KEY_FILE / APNS_KEY (the bundle id of the app)'),
    );
    expect(() => loadConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: '' })).toThrow(/^APNS_TOPIC is required/);
  });

  it('with NODE_ENV=production, APNs credentials need APNS_PRODUCTION set explicitly', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns })).toThrow(
      new ConfigError('APNS_PRODUCTION must be set explicitly (true: production APNs, false: sandbox) when NODE_ENV=production'),
    );
    expect(apnsCredentials(loadConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns, APNS_PRODUCTION: 'true' })).production).toBe(
      true,
    );
    expect(apnsCredentials(loadConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns, APNS_PRODUCTION: 'false' })).production).toBe(
      false,
    );
  });

  it('outside production an unset APNS_PRODUCTION means the sandbox', () => {
    expect(apnsCredentials(loadConfig({ IM_API_KEY: key, ...apns })).production).toBe(false);
  });

  it('a VoIP or complication APNS_TOPIC', () => {
    expect(() => loadConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: 'io.example.app.voip' })).toThrow(
      /^APNS_TOPIC: VoIP and complication topics are not supported/,
    );
  });

  it('without APNs credentials neither is needed (the API, the FCM worker, simulator mode)', () => {
    const config = loadConfig({ NODE_ENV: 'production', IM_API_KEY: key });
    expect([config.APNS_TOPIC, config.APNS_PRODUCTION]).toEqual([undefined, undefined]);
  });
});
