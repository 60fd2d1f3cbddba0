import { ConfigError, loadConfig, redactConfig } from '@push/config';

const key = 'api-key-0123456789abcdef';

describe('operations settings', () => {
  it('accepts the API keys on /metrics and /admin unless METRICS_TOKEN / ADMIN_PASSWORD are set', () => {
    const config = loadConfig({ IM_API_KEY: `${key},second-key-0123456789` });
    expect(config.metricsTokens).toEqual([key, 'second-key-0123456789']);
    expect(config.adminPasswords).toEqual([key, 'second-key-0123456789']);
  });

  it('takes comma-separated METRICS_TOKEN and ADMIN_PASSWORD lists instead', () => {
    const config = loadConfig({
      IM_API_KEY: key,
      METRICS_TOKEN: ' scrape-token-0123456789 , next-scrape-token-0123 ',
      ADMIN_PASSWORD: 'admin-password-0123456789',
    });
    expect(config.metricsTokens).toEqual(['scrape-token-0123456789', 'next-scrape-token-0123']);
    expect(config.adminPasswords).toEqual(['admin-password-0123456789']);
  });

  it.each(['METRICS_TOKEN', 'ADMIN_PASSWORD'])('refuses a %s shorter than 16 characters, naming it', (name) => {
    expect(() => loadConfig({ IM_API_KEY: key, [name]: 'short' })).toThrow(
      new ConfigError(`${name}: every key must be at least 16 characters`),
    );
  });

  it.each([
    [undefined, false],
    ['true', true],
    ['1', true],
    ['false', false],
  ])('reads REDIS_CLUSTER=%s as %s', (value, expected) => {
    expect(loadConfig({ IM_API_KEY: key, ...(value !== undefined && { REDIS_CLUSTER: value }) }).REDIS_CLUSTER).toBe(expected);
  });

  it('refuses a REDIS_CLUSTER that is not a boolean, naming it', () => {
    expect(() => loadConfig({ IM_API_KEY: key, REDIS_CLUSTER: 'maybe' })).toThrow(/REDIS_CLUSTER/);
  });

  it('counts a variable set to the empty string as unset (docker compose `${VAR:-}`)', () => {
    const config = loadConfig({ IM_API_KEY: key, APNS_HOST: '', APNS_PORT: '', FCM_ACCESS_TOKEN: '', PORT: '', METRICS_TOKEN: '' });
    expect(config.APNS_HOST).toBeUndefined();
    expect(config.APNS_PORT).toBeUndefined();
    expect(config.FCM_ACCESS_TOKEN).toBeUndefined();
    expect(config.PORT).toBe(3000);
    expect(config.metricsTokens).toEqual([key]);
  });

  it('never shows the metrics token or admin password when the configuration is logged', () => {
    const config = loadConfig({ IM_API_KEY: key, METRICS_TOKEN: 'scrape-token-0123456789', ADMIN_PASSWORD: 'admin-password-0123456789' });
    const logged = JSON.stringify(redactConfig(config));
    for (const secret of [key, 'scrape-token-0123456789', 'admin-password-0123456789']) expect(logged).not.toContain(secret);
  });
});
