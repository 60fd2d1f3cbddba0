import type { Request, Response } from 'express';
import type { Logger } from '@push/config';
import { ApiError, errorHandler, isRedisUnavailable } from '@push/api/errors';

/** The error handler's classification, table-driven: every error ends as one enveloped status. */

function run(error: unknown, redisReady = true) {
  const logged: string[] = [];
  const logger = {
    warn: (_o: unknown, msg: string) => logged.push(`warn ${msg}`),
    error: (_o: unknown, msg: string) => logged.push(`error ${msg}`),
  } as unknown as Logger;
  const headers: Record<string, string> = {};
  let status = 0;
  let body: any;
  const res = {
    headersSent: false,
    set(name: string, value: string) {
      headers[name.toLowerCase()] = value;
      return this;
    },
    status(s: number) {
      status = s;
      return this;
    },
    json(b: unknown) {
      body = b;
      return this;
    },
  } as unknown as Response;
  errorHandler(logger, () => redisReady)(error, { path: '/push/x' } as Request, res, () => undefined);
  return { status, code: body?.error?.code as string, rc: body?.RC as number, headers, logged };
}

const httpError = (status: number, props: Record<string, unknown> = {}) =>
  Object.assign(new Error('x'), { status, statusCode: status, expose: status < 500, ...props });
const uriError = Object.assign(new URIError("Failed to decode param '%E0%A4%A'"), { status: 400, statusCode: 400 });
const zlibError = Object.assign(new Error('incorrect header check'), {
  errno: -3,
  code: 'Z_DATA_ERROR',
  status: 400,
  statusCode: 400,
  expose: true,
});
const maxRetries = Object.assign(
  new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'),
  { name: 'MaxRetriesPerRequestError' },
);

test.each([
  ['an ApiError', new ApiError(418, 'TEAPOT', 'short and stout'), true, 418, 'TEAPOT'],
  ['malformed JSON', httpError(400, { type: 'entity.parse.failed' }), true, 400, 'MALFORMED_JSON'],
  ['a body over the limit', httpError(413, { type: 'entity.too.large' }), true, 413, 'BODY_TOO_LARGE'],
  ['a path that does not percent-decode', uriError, true, 400, 'MALFORMED_PATH'],
  ['a corrupt gzip body', zlibError, true, 400, 'MALFORMED_BODY'],
  ['another exposed 4xx http-error', httpError(414), true, 414, 'URI_TOO_LONG'],
  ['Redis down (status not ready)', new Error('anything'), false, 503, 'SERVICE_UNAVAILABLE'],
  ['a closed connection while the client still says ready', new Error('Connection is closed.'), true, 503, 'SERVICE_UNAVAILABLE'],
  [
    'the offline queue refusing a command',
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    true,
    503,
    'SERVICE_UNAVAILABLE',
  ],
  ['MaxRetriesPerRequestError', maxRetries, true, 503, 'SERVICE_UNAVAILABLE'],
  ['Redis loading its data after a restart', new Error('LOADING Redis is loading the dataset in memory'), true, 503, 'SERVICE_UNAVAILABLE'],
  ['a 5xx http-error', httpError(502), true, 500, 'INTERNAL_ERROR'],
  ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')"), true, 500, 'INTERNAL_ERROR'],
  ['a thrown non-error', 'a string', true, 500, 'INTERNAL_ERROR'],
])('%s', (_name, error, ready, status, code) => {
  const answer = run(error, ready);
  expect({ status: answer.status, rc: answer.rc, code: answer.code }).toEqual({ status, rc: status, code });
  if (status === 503) expect(answer.headers['retry-after']).toBe('5');
  // Only the unexpected is logged as an error; client mistakes are not logged at all.
  expect(answer.logged).toEqual(status === 500 ? ['error unhandled error'] : status === 503 ? ['warn redis unavailable'] : []);
});

test('isRedisUnavailable does not mistake application errors for Redis ones', () => {
  expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
  expect(isRedisUnavailable(new Error('ERR Error running script'))).toBe(false);
  expect(isRedisUnavailable(null)).toBe(false);
  expect(isRedisUnavailable(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBe(true);
});
