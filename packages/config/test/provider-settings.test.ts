import { apnsCredentials, ConfigError, loadApiConfig, loadApnsWorkerConfig, loadFcmWorkerConfig } from '@push/config';

const key = 'api-key-0123456789abcdef';
const pem = '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----\n';
const apns = { APNS_KEY: pem, APNS_KEY_ID: 'KEY1234567', APNS_TEAM_ID: 'TEAM123456', APNS_TOPIC: 'io.example.app' };

describe('start-up refuses APNs settings that cannot work, naming the variable', () => {
  it('APNs credentials without APNS_TOPIC (every send would fail MissingTopic)', () => {
    expect(() => loadApnsWorkerConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: undefined })).toThrow(
      new ConfigError('APNS_TOPIC is required with APNS_KEY_FILE / APNS_KEY (the bundle id of the app)'),
    );
    expect(() => loadApnsWorkerConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: '' })).toThrow(/^APNS_TOPIC is required/);
  });

  it('with NODE_ENV=production, APNs credentials need APNS_PRODUCTION set explicitly', () => {
    expect(() => loadApnsWorkerConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns })).toThrow(
      new ConfigError('APNS_PRODUCTION must be set explicitly (true: production APNs, false: sandbox) when NODE_ENV=production'),
    );
    expect(
      apnsCredentials(loadApnsWorkerConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns, APNS_PRODUCTION: 'true' })).production,
    ).toBe(true);
    expect(
      apnsCredentials(loadApnsWorkerConfig({ NODE_ENV: 'production', IM_API_KEY: key, ...apns, APNS_PRODUCTION: 'false' })).production,
    ).toBe(false);
  });

  it('outside production an unset APNS_PRODUCTION means the sandbox', () => {
    expect(apnsCredentials(loadApnsWorkerConfig({ IM_API_KEY: key, ...apns })).production).toBe(false);
  });

  it('a VoIP or complication APNS_TOPIC', () => {
    expect(() => loadApnsWorkerConfig({ IM_API_KEY: key, ...apns, APNS_TOPIC: 'io.example.app.voip' })).toThrow(
      /^APNS_TOPIC: VoIP and complication topics are not supported/,
    );
  });

  it('without APNs credentials neither is needed (simulator mode)', () => {
    const config = loadApnsWorkerConfig({ NODE_ENV: 'production', IM_API_KEY: key });
    expect([config.APNS_TOPIC, config.APNS_PRODUCTION]).toEqual([undefined, undefined]);
  });
});

describe('each process reads the settings of its own role only', () => {
  it('the API and the FCM worker ignore APNs settings, even ones the APNs worker refuses', () => {
    const env = { NODE_ENV: 'production', IM_API_KEY: key, ...apns, APNS_TOPIC: undefined, APNS_PORT: 'not-a-port' };
    expect(() => loadApnsWorkerConfig(env)).toThrow(/APNS_PORT/);
    expect(loadApiConfig(env)).not.toHaveProperty('APNS_PORT');
    expect(loadFcmWorkerConfig(env)).not.toHaveProperty('APNS_KEY');
  });

  it("a worker ignores the API's settings, the API the workers'", () => {
    const env = { IM_API_KEY: key, PORT: 'not-a-port', PUSH_MAX_CLIENTS: '0', WORKER_CONCURRENCY: 'many' };
    expect(loadApnsWorkerConfig({ ...env, WORKER_CONCURRENCY: '2' })).not.toHaveProperty('PORT');
    expect(loadFcmWorkerConfig({ ...env, WORKER_CONCURRENCY: '2' }).WORKER_CONCURRENCY).toBe(2);
    expect(() => loadApiConfig(env)).toThrow(/^Invalid environment variable PORT/);
    expect(loadApiConfig({ ...env, PORT: '8080', PUSH_MAX_CLIENTS: '10' })).not.toHaveProperty('WORKER_CONCURRENCY');
  });
});
