import type { Server } from 'node:http';
import { platforms } from '@push/contract';
import { ConfigError, createLogger, loadConfig, redactConfig } from '@push/config';
import { createQueue, createRedis, waitForReady } from '@push/store';
import { createServer } from './server';

/** The API process: read the environment, connect, listen, and stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  logger.info({ config: redactConfig(config) }, 'starting');
  if (config.apiKeyGenerated) {
    // Printed on purpose, once: outside production with no IM_API_KEY this is the only way to learn it.
    process.stdout.write(`\nNo IM_API_KEY set: this run accepts the generated key\n  IM-API-KEY: ${config.apiKeys[0]}\n\n`);
  }

  const redis = createRedis(config.REDIS_URL, 'producer');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await waitForReady(redis, 15_000).catch(() => {
    throw new ConfigError(`REDIS_URL: cannot reach Redis at ${redactConfig(config).REDIS_URL}`);
  });
  const queues = Object.fromEntries(
    platforms.map((p) => {
      const queue = createQueue(p, createRedis(config.REDIS_URL, 'producer', { enableAutoPipelining: false }), config.REDIS_PREFIX);
      queue.on('error', (err) => logger.warn({ err: err.message, queue: queue.name }, 'queue error'));
      return [p, queue];
    }),
  ) as Parameters<typeof createServer>[0]['queues'];

  const app = createServer({ config, logger, redis, queues });
  const server: Server = app.listen(config.PORT, () => logger.info({ port: config.PORT }, 'API listening'));

  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    server.close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: Error) => {
  process.stderr.write(`api: ${error instanceof ConfigError ? error.message : error.stack}\n`);
  process.exit(1);
});
