import { readFileSync } from 'node:fs';
import { applicationDefault, cert, type Credential } from 'firebase-admin/app';
import type { FcmCredential } from '@push/config';
import { ProviderConfigError } from './errors';

export interface FcmAuth {
  /** A bearer token valid for a few more minutes at least. */
  accessToken(): Promise<string>;
  /** Drops the cached token (after a 401) so the next call fetches a new one. */
  invalidate(): void;
  /** False for a ready token (FCM_ACCESS_TOKEN): nothing can replace it, so a 401 is final at once. */
  refreshable: boolean;
  /** The Firebase project the messages are sent for. */
  projectId(): Promise<string>;
}

/**
 * Refresh this long before the token expires: firebase-admin's own margin (lib/app/firebase-app.js,
 * TOKEN_EXPIRY_THRESHOLD_MILLIS), so a request never carries a token that expires on the way.
 */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

const NO_PROJECT = 'FCM project id unknown: set FCM_PROJECT_ID (projectId) or use a service account whose JSON has project_id';

/** Builds the credential and finds the project id; throws ProviderConfigError when either is impossible. */
export function createFcmAuth(credential: FcmCredential, projectId?: string): FcmAuth {
  if ('accessToken' in credential) {
    if (!projectId) throw new ProviderConfigError(NO_PROJECT);
    return {
      accessToken: () => Promise.resolve(credential.accessToken),
      invalidate: () => undefined,
      refreshable: false,
      projectId: () => Promise.resolve(projectId),
    };
  }
  if ('serviceAccountFile' in credential || 'serviceAccount' in credential) {
    const [account, source] =
      'serviceAccount' in credential
        ? [credential.serviceAccount, 'the service account']
        : [readServiceAccount(credential.serviceAccountFile), credential.serviceAccountFile];
    const id = projectId ?? (typeof account.project_id === 'string' ? account.project_id : undefined);
    if (!id) throw new ProviderConfigError(`${NO_PROJECT} (${source} has none)`);
    let firebaseCredential: Credential;
    try {
      firebaseCredential = cert(account); // it reads the JSON's snake_case keys itself
    } catch (error) {
      throw new ProviderConfigError(`${source}: not a usable service account: ${(error as Error).message}`);
    }
    return { ...cachedAccessToken(firebaseCredential), projectId: () => Promise.resolve(id) };
  }
  if ('credential' in credential) {
    if (!projectId) throw new ProviderConfigError(NO_PROJECT);
    return { ...cachedAccessToken(credential.credential), projectId: () => Promise.resolve(projectId) };
  }
  const adc = applicationDefault();
  const known = projectId ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT ?? adcFileProjectId();
  let lookup: Promise<string> | undefined;
  return {
    ...cachedAccessToken(adc),
    projectId: () => {
      if (known) return Promise.resolve(known);
      // Only the metadata server is left (firebase-admin's findProjectId does the same).
      lookup ??= discoverProjectId(adc).catch((error: unknown) => {
        lookup = undefined; // the metadata server may answer next time
        throw error;
      });
      return lookup;
    },
  };
}

/** Caches a credential's token until TOKEN_REFRESH_MARGIN_MS before it expires; one fetch at a time. */
export function cachedAccessToken(
  credential: Pick<Credential, 'getAccessToken'>,
  now: () => number = Date.now,
): Pick<FcmAuth, 'accessToken' | 'invalidate' | 'refreshable'> {
  let cached: { value: string; expiresAt: number } | undefined;
  let fetching: Promise<string> | undefined;
  return {
    refreshable: true,
    accessToken() {
      if (cached && cached.expiresAt - now() > TOKEN_REFRESH_MARGIN_MS) return Promise.resolve(cached.value);
      fetching ??= credential
        .getAccessToken()
        .then(({ access_token, expires_in }) => {
          cached = { value: access_token, expiresAt: now() + expires_in * 1000 };
          return access_token;
        })
        .finally(() => {
          fetching = undefined;
        });
      return fetching;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

function readServiceAccount(file: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ProviderConfigError(`cannot read the FCM service account ${file}: ${(error as Error).message}`);
  }
}

/** project_id of the GOOGLE_APPLICATION_CREDENTIALS file, when that is a service account. */
function adcFileProjectId(): string | undefined {
  const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (!file) return undefined;
  try {
    const id = (JSON.parse(readFileSync(file, 'utf8')) as { project_id?: unknown }).project_id;
    return typeof id === 'string' && id ? id : undefined;
  } catch {
    return undefined; // firebase-admin reports an unreadable file itself, with the first token request
  }
}

async function discoverProjectId(credential: Credential): Promise<string> {
  // ApplicationDefaultCredential has getProjectId() at run time; the public type does not show it.
  const withLookup = credential as Credential & { getProjectId?: () => Promise<string> };
  try {
    const id = await withLookup.getProjectId?.();
    if (id) return id;
  } catch (error) {
    throw new ProviderConfigError(`${NO_PROJECT}: ${(error as Error).message}`);
  }
  throw new ProviderConfigError(NO_PROJECT);
}
