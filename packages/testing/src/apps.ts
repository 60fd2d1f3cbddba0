import { randomBytes } from 'node:crypto';
import type { TestStack } from './stack';

/** Admin token and secrets key of the tenancy tests (start the stack with `appsEnv`). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';
export const appsEnv = { ADMIN_TOKEN: TEST_ADMIN_TOKEN, SECRETS_KEY: randomBytes(32).toString('hex'), APP_REFRESH_MS: '100' };

export interface TestApp {
  id: string;
  apiKey: string;
  keyId: string;
  /** The APNs key and FCM project the app was created with (their own, added to the simulators). */
  apns: { keyId: string; teamId: string; signingKeyPem: string; topic: string };
  fcm: { projectId: string; accessToken: string };
  /** `api.request` with this app's key. */
  request: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
}

/** Calls the admin API with the test admin token. */
export function adminRequest(stack: TestStack, method: string, path: string, body?: unknown) {
  return stack.api.request(method, path, body, { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
}

/** Creates app `id` with its own APNs key, FCM project and topic, all accepted by the stack's simulators. */
export async function createTestApp(stack: TestStack, id: string, extra: Record<string, unknown> = {}): Promise<TestApp> {
  const apnsKey = stack.apns.addKey();
  const fcm = stack.fcm.addProject({ projectId: `project-${id}` });
  const apns = { key: apnsKey.signingKeyPem, keyId: apnsKey.keyId, teamId: apnsKey.teamId, topic: `io.test.${id}`, production: false };
  const res = await adminRequest(stack, 'POST', '/admin/apps', {
    id,
    apns: { ...apns, host: stack.apns.host, port: stack.apns.port },
    fcm: { accessToken: fcm.accessToken, projectId: fcm.projectId, endpoint: stack.fcm.url },
    ...extra,
  });
  if (res.status !== 200) throw new Error(`create app failed: ${JSON.stringify(res.body)}`);
  const apiKey = res.body.result.apiKey as string;
  return {
    id,
    apiKey,
    keyId: res.body.result.app.keys[0].id as string,
    apns: { ...apnsKey, topic: apns.topic },
    fcm,
    request: (method, path, body) => stack.api.request(method, path, body, { 'IM-API-KEY': apiKey }),
  };
}
