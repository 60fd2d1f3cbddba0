import { STATUS_CODES, type Server } from 'node:http';
import { failure } from '@push/contract';
import { ConfigError, createLogger, loadApiConfig, redactConfig, redactUrl, runProcess, type RunningProcess } from '@push/config';
import { createMetricsRegistry } from '@push/metrics';
import { createLaneQueues, createRedis, listQueues, waitForReady } from '@push/store';
import { createServer } from './server';

/** The API process: read the environment, connect, listen, and stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<RunningProcess> {
  const config = loadApiConfig();
  const logger = createLogger('api', config);
  logger.info({ config: redactConfig(config) }, 'starting');
  if (config.apiKeyGenerated) {
    // Printed on purpose, once: outside production with no IM_API_KEY this is the only way to learn it.
    process.stdout.write(`\nNo IM_API_KEY set: this run accepts the generated key\n  IM-API-KEY: ${config.apiKeys[0]}\n\n`);
  }

  const cluster = config.REDIS_CLUSTER;
  const redis = createRedis(config.REDIS_URL, 'producer', { cluster });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  await waitForReady(redis, 15_000).catch(() => {
    throw new ConfigError(`REDIS_URL: cannot reach Redis at ${redactUrl(config.REDIS_URL)}`);
  });
  const queues = createLaneQueues(
    () => createRedis(config.REDIS_URL, 'producer', { cluster, enableAutoPipelining: false }),
    config.REDIS_PREFIX,
  );
  for (const { queue } of listQueues(queues))
    queue.on('error', (err) => logger.warn({ err: err.message, queue: queue.name }, 'queue error'));

  const app = createServer({ config, logger, redis, queues, metrics: createMetricsRegistry() });
  const server: Server = app.listen(config.PORT, () => {
    logger.info({ port: config.PORT, metrics: '/metrics', dashboards: ['/admin/jobs', '/admin/queues'] }, 'API listening');
  });
  // Requests Node refuses before Express sees them (bad framing, headers over 16 KiB) get the envelope too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify(
      failure(status, status === 431 ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST', 'the request could not be parsed as HTTP'),
    );
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  const stop = async () => {
    server.close();
    await Promise.all(listQueues(queues).map(({ queue }) => queue.close()));
    redis.disconnect();
  };
  return { logger, stop };
}

runProcess('api', main);
