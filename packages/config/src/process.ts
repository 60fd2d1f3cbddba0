import type { Logger } from 'pino';
import { ConfigError } from './config';

/** What an app's start function hands back: its logger, and how to stop it. */
export interface RunningProcess {
  logger: Logger;
  /** Finishes the work in flight and closes every connection. */
  stop: () => Promise<void>;
}

/**
 * The frame each app's `index.ts` runs its own `start` in (what to start and how to stop it stay the
 * app's): a start-up failure is printed, a ConfigError as its message naming the variable, and the
 * process exits 1; once started, the first SIGTERM or SIGINT stops it, work in flight first, and exits 0.
 */
export function runProcess(name: string, start: () => Promise<RunningProcess>): void {
  start().then(
    (running) => {
      const { logger } = running;
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        running.stop().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (error: unknown) => {
            logger.error({ err: (error as Error).message }, 'stopping failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', onSignal).once('SIGINT', onSignal);
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : String((error as Error).stack ?? error)}\n`);
      process.exit(1);
    },
  );
}
