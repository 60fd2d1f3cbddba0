import { STATUS_CODES } from 'node:http';

/** The response envelope of push2clients.txt, used by every route, errors included. */
export interface SuccessEnvelope<T> {
  RC: 0;
  RM: 'OK';
  result: T;
}

export interface ErrorEnvelope {
  RC: number;
  RM: string;
  error: { code: string; message: string };
}

export function ok<T>(result: T): SuccessEnvelope<T> {
  return { RC: 0, RM: 'OK', result };
}

export function failure(status: number, code: string, message: string): ErrorEnvelope {
  return { RC: status, RM: STATUS_CODES[status] ?? 'Error', error: { code, message } };
}

/** An error a route throws to answer with a given status and code; the API's error handler envelopes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds a client should wait before trying again (sent as `Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = this.constructor.name;
  }
}
