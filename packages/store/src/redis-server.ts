import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

// A private `redis-server` process, for what runs on one machine: `npm start` without a Redis, the tests'
// Redis when none is given, and the benchmark's. Never used by the service's processes themselves.

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers PING, or rejects after `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      if ((await redis.ping()) === 'PONG') return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`Redis at ${url} did not answer: ${(error as Error).message}`);
    } finally {
      redis.disconnect();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves once something accepts TCP connections on the port (no client library: no lingering timers). */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    }))
  ) {
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether `redis-server` is installed (on the PATH). */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** @defaultValue a free port */
  port?: number;
  /** The data folder, kept when the server stops. @defaultValue a temporary folder, deleted by `stop()` */
  dir?: string;
}

/**
 * Starts a private `redis-server` on the loopback interface: no persistence unless `extraArgs` turn it
 * on, and `maxmemory-policy noeviction` as in production (a lost key is a lost job).
 */
export async function startRedisServer(extraArgs: string[] = [], options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await startRestartableRedisServer(extraArgs, options);
  return {
    url: server.url,
    port: server.port,
    get process() {
      return server.process;
    },
    stop: () => server.stop(),
  };
}

export interface RestartableRedisServer extends RedisServer {
  /** The data folder, kept across restarts (AOF and RDB files live here). */
  readonly dir: string;
  /** True while the `redis-server` process runs. */
  readonly running: boolean;
  /**
   * Stops the process and keeps the data folder: `SIGTERM` is Redis' clean shutdown (the AOF is flushed),
   * `SIGKILL` a crash (only what the AOF's fsync policy already wrote survives).
   * @defaultValue 'SIGTERM'
   */
  halt(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts `redis-server` again on the same port, with the same arguments and data folder. */
  restart(): Promise<void>;
}

/**
 * A private `redis-server` that can be stopped and started again on the same port and data folder, e.g.
 * `startRestartableRedisServer(['--appendonly', 'yes'])` for a Redis that keeps its data across a restart.
 * `stop()` ends it for good and deletes the folder.
 */
export async function startRestartableRedisServer(
  extraArgs: string[] = [],
  options: RedisServerOptions = {},
): Promise<RestartableRedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'push-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ...['--maxmemory-policy', 'noeviction', ...extraArgs],
  ];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port);
    await waitForRedis(url);
  };
  const halt = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await launch();
  return {
    url,
    port,
    dir,
    get process() {
      return child;
    },
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    halt,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterProcesses {
  /** The masters' ports, in the order of their slot ranges (the first holds slot 0). */
  ports: number[];
  /** The masters' `redis-server` processes, in the same order. */
  pids: number[];
  stop(): Promise<void>;
}

const run = promisify(execFile);

/** Polls `check` every 50 ms until it resolves true, or throws naming `what` after `timeoutMs`. */
async function poll(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A Redis Cluster of `masters` private `redis-server` processes (no replicas, no persistence), slots
 * spread evenly by `redis-cli --cluster create`: for the Cluster tests and `npm run bench -- --redis-cluster`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterProcesses> {
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r(undefined);
            child.once('exit', r);
            child.kill('SIGKILL');
          }),
      ),
    );
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'push-cluster-'));
      dirs.push(dir);
      ports.push(port);
      const args = [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
        ...['--maxmemory-policy', 'noeviction', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
        ...['--cluster-node-timeout', '5000'],
      ];
      children.push(spawn('redis-server', args, { stdio: 'ignore' }));
    }
    for (const port of ports) await waitForPort(port);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await poll(
        async () => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
        20_000,
        `cluster_state:ok on ${port}`,
      );
    }
    return { ports, pids: children.map((c) => c.pid!), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
