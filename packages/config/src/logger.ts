import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured logs; credentials are removed wherever they appear under these paths. */
export function createLogger(name: string, level = 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['apiKey', 'headers.authorization', 'headers["im-api-key"]', 'req.headers["im-api-key"]', 'key'],
      censor: '[redacted]',
    },
  });
}

/** A device token as logs show it: enough to correlate, not enough to send to. */
export function maskToken(token: string): string {
  return token.length <= 12 ? '***' : `${token.slice(0, 6)}…${token.slice(-4)}`;
}
