import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { freePort } from '@push/store';
import { fetchJson, JSON_CONTENT_TYPE, type HttpAnswer } from './http';
import { waitFor } from './redis';

const root = resolve(__dirname, '../../..');

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A node process started by a test, with its stdout and stderr kept for assertions. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** True until the process exits. */
  readonly running: boolean;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitStatus>;
  /** Everything the process wrote to stdout and stderr so far (the first 32 MiB). */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still running. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitStatus>;
}

const OUTPUT_LIMIT = 32 * 1024 * 1024;

/** Runs `node <script>` with `env` on top of this process' environment, capturing its output. */
export function spawnNode(script: string, env: Record<string, string>): ManagedProcess {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    if (output.length < OUTPUT_LIMIT) output += chunk.toString('utf8');
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolveExit) => {
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolveExit(status);
    });
  });
  return {
    child,
    pid: child.pid!,
    get running() {
      return status === undefined;
    },
    exited,
    output: () => output,
    async waitForOutput(pattern, timeoutMs = 20_000) {
      await waitFor(() => (pattern.test(output) ? true : undefined), timeoutMs, `output matching ${pattern} from pid ${child.pid}`);
    },
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (status) return status;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The path of a built app's entry point (`apps/<name>/dist/index.js`); tests spawn the built code. */
export type WorkerApp = 'apns-worker' | 'fcm-worker' | 'webpush-worker';

export function appEntry(name: 'api' | WorkerApp): string {
  return join(root, 'apps', name, 'dist', 'index.js');
}

export interface ApiProcess extends ManagedProcess {
  url: string;
  /** fetch() with `IM-API-KEY` (the first key of IM_API_KEY unless given) and a timeout; the body parsed as JSON when it is. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>, timeoutMs?: number): Promise<HttpAnswer>;
}

/**
 * Starts the built API (`node apps/api/dist/index.js`) as its own process on a free port and waits for
 * `/healthz`. `env` needs REDIS_URL, REDIS_PREFIX and IM_API_KEY at least.
 */
export async function spawnApiProcess(env: Record<string, string>): Promise<ApiProcess> {
  const port = await freePort();
  const proc = spawnNode(appEntry('api'), { LOG_LEVEL: 'info', ...env, PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  const apiKey = (env.IM_API_KEY ?? '').split(',')[0]!.trim();
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`the API process exited at start-up:\n${proc.output()}`);
      const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      return ok ? true : undefined;
    },
    20_000,
    'the API process to listen',
  );
  return {
    ...proc,
    get running() {
      return proc.running;
    },
    url,
    request: (method, path, body, headers = {}, timeoutMs = 15_000) =>
      fetchJson(url + path, method, body, { 'IM-API-KEY': apiKey, 'Content-Type': JSON_CONTENT_TYPE, ...headers }, timeoutMs),
  };
}
