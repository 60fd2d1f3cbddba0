import { fork, type ChildProcess } from 'node:child_process';

/** A request from the bench to one of its helper processes, and the answer. */
interface Request {
  id: number;
  cmd: string;
  arg?: unknown;
}
type Answer = { id: number; result: unknown } | { id: number; error: string };

export interface Helper {
  pid: number;
  process: ChildProcess;
  call<T>(cmd: string, arg?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Forks a helper (`sim-host.js`, `direct.js`) with an IPC channel and waits for its `ready` message,
 * whose payload `ready` resolves with.
 */
export async function forkHelper<R>(
  file: string,
  args: string[],
  options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ helper: Helper; ready: R }> {
  const child = fork(file, args, {
    execArgv: options.execArgv ?? [],
    env: options.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let seq = 0;
  let exited = false;
  const ready = await new Promise<R>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${file} exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.on('message', (message: { ready?: R } & Partial<Answer>) => {
      if (message.ready !== undefined) {
        child.off('exit', onExit);
        resolve(message.ready);
        return;
      }
      const waiter = pending.get(message.id!);
      if (!waiter) return;
      pending.delete(message.id!);
      if ('error' in message && message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve((message as { result: unknown }).result);
    });
  });
  child.once('exit', (code) => {
    exited = true;
    for (const waiter of pending.values()) waiter.reject(new Error(`${file} exited (${code})`));
    pending.clear();
  });
  return {
    ready,
    helper: {
      pid: child.pid!,
      process: child,
      call<T>(cmd: string, arg?: unknown): Promise<T> {
        if (exited) return Promise.reject(new Error(`${file} has exited`));
        const id = ++seq;
        return new Promise<T>((resolve, reject) => {
          pending.set(id, { resolve: resolve, reject });
          child.send({ id, cmd, arg } satisfies Request);
        });
      },
      async stop() {
        if (exited) return;
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      },
    },
  };
}

/** The helper's side: announces `ready`, then answers requests with `handlers` until SIGTERM or disconnect. */
export function serveHelper(ready: unknown, handlers: Record<string, (arg: never) => unknown>, onStop: () => Promise<void> | void): void {
  const stop = async () => {
    await onStop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('disconnect', () => void stop());
  const answer = async (message: Request) => {
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message.arg as never);
      process.send!({ id: message.id, result: result ?? null });
    } catch (error) {
      process.send!({ id: message.id, error: (error as Error).stack ?? String(error) });
    }
  };
  process.on('message', (message: Request) => void answer(message));
  process.send!({ ready });
}
