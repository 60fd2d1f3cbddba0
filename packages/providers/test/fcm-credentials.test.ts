import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderConfigError } from '@push/providers';
import { cachedAccessToken, createFcmAuth, TOKEN_REFRESH_MARGIN_MS } from '../src/fcm-credentials';

describe('cachedAccessToken', () => {
  function fakeCredential() {
    let issued = 0;
    const credential = {
      calls: () => issued,
      getAccessToken: jest.fn(() => Promise.resolve({ access_token: `token-${++issued}`, expires_in: 3600 })),
    };
    return credential;
  }

  test('reuses the token until the refresh margin before expiry, then fetches a new one', async () => {
    let now = 0;
    const credential = fakeCredential();
    const cache = cachedAccessToken(credential, () => now);
    expect(await cache.accessToken()).toBe('token-1');
    now = 3600_000 - TOKEN_REFRESH_MARGIN_MS - 1;
    expect(await cache.accessToken()).toBe('token-1');
    now += 2;
    expect(await cache.accessToken()).toBe('token-2');
    expect(credential.calls()).toBe(2);
  });

  test('one fetch for concurrent callers; invalidate() forces a new one', async () => {
    const credential = fakeCredential();
    const cache = cachedAccessToken(credential);
    const tokens = await Promise.all([cache.accessToken(), cache.accessToken(), cache.accessToken()]);
    expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
    cache.invalidate();
    expect(await cache.accessToken()).toBe('token-2');
  });

  test('a failed fetch is not cached', async () => {
    const credential = {
      getAccessToken: jest.fn().mockRejectedValueOnce(new Error('offline')).mockResolvedValue({ access_token: 't', expires_in: 3600 }),
    };
    const cache = cachedAccessToken(credential);
    await expect(cache.accessToken()).rejects.toThrow('offline');
    expect(await cache.accessToken()).toBe('t');
  });
});

describe('createFcmAuth project id', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fcm-auth-'));
  // A syntactically valid service account; its key is never used to sign anything here.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const account = {
    type: 'service_account',
    project_id: 'from-file',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: 'sender@from-file.iam.gserviceaccount.com',
  };
  const withProject = path.join(dir, 'with.json');
  const withoutProject = path.join(dir, 'without.json');
  writeFileSync(withProject, JSON.stringify(account));
  writeFileSync(withoutProject, JSON.stringify({ ...account, project_id: undefined }));

  test("the service account's project_id, unless one is given", async () => {
    expect(await createFcmAuth({ serviceAccountFile: withProject }).projectId()).toBe('from-file');
    expect(await createFcmAuth({ serviceAccountFile: withProject }, 'explicit').projectId()).toBe('explicit');
  });

  test('no project id anywhere: a clear error at creation', () => {
    expect(() => createFcmAuth({ serviceAccountFile: withoutProject })).toThrow(ProviderConfigError);
    expect(() => createFcmAuth({ accessToken: 'x' })).toThrow(/FCM_PROJECT_ID/);
    expect(() => createFcmAuth({ serviceAccountFile: path.join(dir, 'missing.json') })).toThrow(/cannot read the FCM service account/);
  });

  test('a static access token is used as given', async () => {
    const auth = createFcmAuth({ accessToken: 'static' }, 'p');
    expect(await auth.accessToken()).toBe('static');
    expect(await auth.projectId()).toBe('p');
  });
});
