import { DEFAULT_APP, type Platform } from '@push/contract';
import type { Logger } from '@push/config';
import type { PushProvider } from '@push/providers';
import type { AppSettings, AppStore } from '@push/store';
import { unavailableProvider, type AppProviderFactory } from './app-providers';
import type { DeliveryContext } from './pipeline';

export interface AppContextsOptions {
  platform: Platform;
  /** The `default` app's context in each lane: built from the environment at start-up, open for the life of the worker. */
  defaultContexts: Record<string, DeliveryContext>;
  apps: AppStore;
  /** Builds an app's provider from its credentials. */
  providerFor: AppProviderFactory;
  /** Builds an app's delivery context in one lane around its provider (its stores, pause and limits under its prefix). */
  contextFor(app: string, provider: PushProvider, settings: AppSettings, lane: string): DeliveryContext;
  /** How often an app's record is checked for new credentials (APP_REFRESH_MS). */
  refreshMs: number;
  /** An app's provider is closed after this long unused (APP_IDLE_MS). */
  idleMs: number;
  /** Apps with an open provider at once (APP_MAX_OPEN); chunks running for more apps than that may exceed it. */
  maxOpen: number;
  logger: Logger;
}

/** One chunk's use of an app's context; `release()` once the chunk is done with it. */
export interface AppLease {
  ctx: DeliveryContext;
  release(): void;
}

interface Entry {
  provider: PushProvider;
  settings: AppSettings;
  /** The app's context in each lane it has run a chunk in (all around the one provider). */
  contexts: Map<string, DeliveryContext>;
  version: number;
  checkedAt: number;
  lastUsed: number;
  users: number;
  /** Replaced (new credentials) or deleted: closed once its last chunk releases it. */
  retired: boolean;
}

/**
 * The delivery contexts of every app one worker serves: an app's provider connections are opened on its
 * first chunk, shared by its chunks, rebuilt when its record's version changes (checked at most every
 * `refreshMs`), closed after `idleMs` unused or when `maxOpen` other apps need room (least recently used
 * first), and a deleted app gets no context at all (its chunks are dropped).
 */
export class AppContexts {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry | undefined>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: AppContextsOptions) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.max(50, Math.min(options.idleMs / 2, 10_000)));
    this.sweeper.unref();
  }

  /** The context of `app` (absent: `default`) in `lane` for one chunk, or undefined when the app no longer exists. */
  async acquire(app: string | undefined, lane: string): Promise<AppLease | undefined> {
    if (app === undefined || app === DEFAULT_APP) return { ctx: this.options.defaultContexts[lane]!, release: () => undefined };
    let entry = this.entries.get(app);
    if (!entry || Date.now() - entry.checkedAt >= this.options.refreshMs) {
      let pending = this.loading.get(app);
      if (!pending) {
        pending = this.refresh(app, entry).finally(() => this.loading.delete(app));
        this.loading.set(app, pending);
      }
      entry = await pending;
    }
    if (!entry) return undefined;
    const used = entry;
    let ctx = used.contexts.get(lane);
    if (!ctx) {
      ctx = this.options.contextFor(app, used.provider, used.settings, lane);
      used.contexts.set(lane, ctx);
    }
    used.users++;
    used.lastUsed = Date.now();
    return {
      ctx,
      release: () => {
        used.users--;
        used.lastUsed = Date.now();
        if (used.retired && used.users === 0) this.closeEntry(app, used);
      },
    };
  }

  /** Apps with an open provider right now (for the cost measurements and tests). */
  openApps(): string[] {
    return [...this.entries.keys()];
  }

  /** Closes every app's provider (the default app's belongs to the worker). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => entry.provider.close()));
  }

  private async refresh(app: string, current: Entry | undefined): Promise<Entry | undefined> {
    const version = await this.options.apps.version(app);
    if (current && version === current.version) {
      current.checkedAt = Date.now();
      return current;
    }
    if (current) this.retire(app, current);
    if (version === undefined) return undefined;
    let settings: AppSettings | undefined;
    let provider: PushProvider;
    try {
      settings = await this.options.apps.settings(app);
      if (!settings) return undefined;
      provider = this.options.providerFor(settings.credentials);
    } catch (error) {
      // Unusable credentials (or none for this platform): this app's tokens fail with the reason; no other app is touched.
      const reason = `app ${app}: ${(error as Error).message}`;
      this.options.logger.warn({ app, reason }, 'app credentials unusable');
      settings ??= { version, limits: {}, credentials: {} };
      provider = unavailableProvider(this.options.platform, reason);
    }
    this.makeRoom();
    const entry: Entry = {
      provider,
      settings,
      contexts: new Map(),
      version: settings.version,
      checkedAt: Date.now(),
      lastUsed: Date.now(),
      users: 0,
      retired: false,
    };
    this.entries.set(app, entry);
    return entry;
  }

  /** Closes least recently used idle apps until one more fits under `maxOpen`. */
  private makeRoom(): void {
    const idle = [...this.entries].filter(([, e]) => e.users === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [app, entry] of idle) {
      if (this.entries.size < this.options.maxOpen) break;
      this.retire(app, entry);
    }
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [app, entry] of this.entries) {
      if (entry.users === 0 && now - entry.lastUsed >= this.options.idleMs) this.retire(app, entry);
    }
  }

  private retire(app: string, entry: Entry): void {
    entry.retired = true;
    if (this.entries.get(app) === entry) this.entries.delete(app);
    if (entry.users === 0) this.closeEntry(app, entry);
  }

  private closeEntry(app: string, entry: Entry): void {
    entry.provider.close().catch((error: Error) => this.options.logger.warn({ app, err: error.message }, 'closing an app provider failed'));
  }
}
