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
