import { randomBytes } from 'node:crypto';
import { seal, SealError, unseal } from '@push/store';

describe('sealed credentials (AES-256-GCM with SECRETS_KEY)', () => {
  const key = randomBytes(32);
  const secret = '-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg\n-----END PRIVATE KEY-----';

  it('opens what it sealed, and never shows the plaintext', () => {
    const sealed = seal(key, 'alpha', secret);
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/=]+$/);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(unseal(key, 'alpha', sealed)).toBe(secret);
  });

  it('uses a fresh nonce each time', () => {
    expect(seal(key, 'alpha', secret)).not.toBe(seal(key, 'alpha', secret));
  });

  it.each<[string, (sealed: string) => string]>([
    ['another SECRETS_KEY', (sealed) => unseal(randomBytes(32), 'alpha', sealed)],
    ["another app's record", (sealed) => unseal(key, 'beta', sealed)],
    ['a changed byte', (sealed) => unseal(key, 'alpha', `${sealed.slice(0, 20)}${sealed[20] === 'A' ? 'B' : 'A'}${sealed.slice(21)}`)],
    ['a cut value', (sealed) => unseal(key, 'alpha', sealed.slice(0, 20))],
    ['no version', (sealed) => unseal(key, 'alpha', sealed.slice(3))],
  ])('refuses to open it with %s', (_name, open) => {
    const sealed = seal(key, 'alpha', secret);
    expect(() => open(sealed)).toThrow(SealError);
  });
});
