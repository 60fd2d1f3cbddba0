import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { BaseEnv } from './env';

export type { Logger };

/** What a logger is made from: a level alone (JSON lines), or a process's settings. */
export type LogSettings = string | Pick<BaseEnv, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV'>;

/**
 * Structured logs; credentials are removed wherever they appear under these paths. JSON lines in
 * production (LOG_FORMAT, else NODE_ENV decides), readable coloured lines for a person otherwise.
 */
export function createLogger(name: string, settings: LogSettings = 'info'): Logger {
  const level = typeof settings === 'string' ? settings : settings.LOG_LEVEL;
  const format = typeof settings === 'string' ? 'json' : (settings.LOG_FORMAT ?? (settings.NODE_ENV === 'production' ? 'json' : 'pretty'));
  const options = {
    name,
    level,
    redact: {
      paths: ['apiKey', 'headers.authorization', 'headers["im-api-key"]', 'req.headers["im-api-key"]', 'key'],
      censor: '[redacted]',
    },
  };
  // In-process and synchronous (not a transport thread): a line logged just before process.exit is kept.
  return format === 'json' ? pino(options) : pino(options, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}

/** A device token as logs show it: enough to correlate, not enough to send to. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '***' : `${token.slice(0, 6)}…${token.slice(-4)}`;
}
