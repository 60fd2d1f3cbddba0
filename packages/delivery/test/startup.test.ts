import { startTestStack, type TestStack } from '@push/testing';

/** Worker processes: what they refuse at start-up, and where they say they send. */
describe('worker start-up', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('startup', { workers: { ios: 0, android: 0 } });
  });
  afterAll(() => stack.close());

  it.each([
    ['APNs credentials without APNS_TOPIC', { APNS_TOPIC: '' }, /APNS_TOPIC is required with APNS_KEY_FILE \/ APNS_KEY/],
    [
      'NODE_ENV=production without APNS_PRODUCTION',
      { NODE_ENV: 'production', IM_API_KEY: 'production-key-0123456789', APNS_PRODUCTION: '' },
      /APNS_PRODUCTION must be set explicitly/,
    ],
  ])('refuses %s: exit 1, the message names the variable', async (_what, env, message) => {
    const worker = stack.startWorkerProcess('ios', env);
    const status = await worker.exited;
    expect(status.code).toBe(1);
    expect(worker.output()).toMatch(message);
  });

  it('logs the APNs environment and the FCM project it sends to', async () => {
    const ios = stack.startWorkerProcess('ios', { LOG_LEVEL: 'info' });
    const android = stack.startWorkerProcess('android', { LOG_LEVEL: 'info' });
    await Promise.all([ios.waitForOutput(/worker ready/), android.waitForOutput(/worker ready/)]);
    const ready = (output: string) =>
      JSON.parse(output.split('\n').find((line) => line.includes('worker ready'))!) as Record<string, unknown>;
    expect(ready(ios.output())).toMatchObject({
      apnsEnvironment: 'sandbox',
      apnsHost: `${stack.apns.host}:${stack.apns.port}`,
      apnsTopic: 'io.test.app',
    });
    expect(ready(android.output())).toMatchObject({ fcmProject: stack.fcm.projectId, fcmEndpoint: new URL(stack.fcm.url).origin });
    await Promise.all([ios.stop('SIGTERM'), android.stop('SIGTERM')]);
  });
});
