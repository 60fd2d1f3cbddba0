import type { Response } from 'express';
import { appPrefix, JobStore, TokenRegistry, type RedisClient } from '@push/store';
import { requestApp, type RequestApp } from './auth';

/** The stores of the app a request acts in: nothing outside its key prefix is reachable through them. */
export interface AppStores {
  app: RequestApp;
  /** The app's key prefix (keys.ts `appPrefix`). */
  prefix: string;
  jobs: JobStore;
  registry: TokenRegistry;
}

/** Per-app stores, built once per app (they hold no state but their prefix). */
export function appStores(redis: RedisClient, prefix: string, retentionSeconds: number): (res: Response) => AppStores {
  const built = new Map<string, Omit<AppStores, 'app'>>();
  return (res) => {
    const app = requestApp(res);
    let stores = built.get(app.id);
    if (!stores) {
      const own = appPrefix(prefix, app.id);
      stores = { prefix: own, jobs: new JobStore(redis, own, retentionSeconds), registry: new TokenRegistry(redis, own) };
      // Deleted apps' entries are dropped now and then rather than tracked.
      if (built.size >= 10_000) built.clear();
      built.set(app.id, stores);
    }
    return { app, ...stores };
  };
}
