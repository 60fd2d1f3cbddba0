import { classifyFcm, FCM_DEFAULT_QUOTA_RETRY_MS, FCM_MISCONFIGURATION, type SendOutcome } from '@push/providers';
import { parseRetryAfter } from '../src/fcm-classify';

/** An FCM HTTP v1 error body (google.rpc.Status) as Google documents it ("FCM error codes"). */
function fcmError(code: number, status: string, message: string, errorCode?: string, field?: string): string {
  const details: object[] = [];
  if (errorCode) details.push({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode });
  if (field) details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] });
  return JSON.stringify({ error: { code, message, status, details } });
}

const NOW = Date.parse('2030-01-01T00:00:00Z');

// Each row of the table in src/fcm-classify.ts.
const rows: Array<[string, number, unknown, string | undefined, SendOutcome]> = [
  ['sent', 200, '{"name":"projects/p/messages/1"}', undefined, { status: 'sent' }],
  [
    'unregistered',
    404,
    fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'),
    undefined,
    { status: 'invalid', reason: 'UNREGISTERED', misconfiguration: FCM_MISCONFIGURATION.UNREGISTERED },
  ],
  [
    'bad token (BadRequest names message.token)',
    400,
    fcmError(400, 'INVALID_ARGUMENT', 'Invalid registration', 'INVALID_ARGUMENT', 'message.token'),
    undefined,
    { status: 'invalid', reason: 'INVALID_ARGUMENT: Invalid registration', misconfiguration: FCM_MISCONFIGURATION.INVALID_ARGUMENT },
  ],
  [
    "bad token (Google's example: message only)",
    400,
    fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT'),
    undefined,
    {
      status: 'invalid',
      reason: 'INVALID_ARGUMENT: The registration token is not a valid FCM registration token',
      misconfiguration: FCM_MISCONFIGURATION.INVALID_ARGUMENT,
    },
  ],
  [
    'bad message',
    400,
    fcmError(400, 'INVALID_ARGUMENT', "Invalid value at 'message.data[0].value' (TYPE_STRING), 12", undefined, 'message.data[0].value'),
    undefined,
    { status: 'failed', reason: "INVALID_ARGUMENT: Invalid value at 'message.data[0].value' (TYPE_STRING), 12" },
  ],
  [
    'sender mismatch',
    403,
    fcmError(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH'),
    undefined,
    { status: 'failed', reason: 'SENDER_ID_MISMATCH', misconfiguration: FCM_MISCONFIGURATION.SENDER_ID_MISMATCH },
  ],
  [
    'permission denied',
    403,
    fcmError(403, 'PERMISSION_DENIED', 'Permission denied'),
    undefined,
    { status: 'failed', reason: 'PERMISSION_DENIED' },
  ],
  [
    'unauthenticated',
    401,
    fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.'),
    undefined,
    { status: 'failed', reason: 'UNAUTHENTICATED' },
  ],
  [
    'third-party auth',
    401,
    fcmError(401, 'UNAUTHENTICATED', 'Auth error from APNS', 'THIRD_PARTY_AUTH_ERROR'),
    undefined,
    { status: 'failed', reason: 'THIRD_PARTY_AUTH_ERROR' },
  ],
  [
    'quota with Retry-After seconds',
    429,
    fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', 'QUOTA_EXCEEDED'),
    '7',
    { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: 7000 },
  ],
  [
    'quota with Retry-After date',
    429,
    fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded', 'QUOTA_EXCEEDED'),
    new Date(NOW + 30_000).toUTCString(),
    { status: 'retry', scope: 'provider', reason: 'QUOTA_EXCEEDED', retryAfterMs: 30_000 },
  ],
  [
    'quota without Retry-After: 60 s',
    429,
    fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded'),
    undefined,
    { status: 'retry', scope: 'provider', reason: 'RESOURCE_EXHAUSTED', retryAfterMs: FCM_DEFAULT_QUOTA_RETRY_MS },
  ],
  [
    'device quota (QuotaFailure about the device)',
    429,
    JSON.stringify({
      error: {
        code: 429,
        message: 'Sending limit exceeded for this device.',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'QUOTA_EXCEEDED' },
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [{ subject: 'device', description: 'Device message rate exceeded.' }],
          },
        ],
      },
    }),
    '2',
    { status: 'retry', scope: 'token', reason: 'QUOTA_EXCEEDED (device)', retryAfterMs: 2000 },
  ],
  [
    'unavailable',
    503,
    fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'),
    undefined,
    { status: 'retry', scope: 'outage', reason: 'UNAVAILABLE' },
  ],
  [
    'unavailable with Retry-After',
    503,
    fcmError(503, 'UNAVAILABLE', 'Unavailable', 'UNAVAILABLE'),
    '3',
    { status: 'retry', scope: 'outage', reason: 'UNAVAILABLE', retryAfterMs: 3000 },
  ],
  [
    'internal',
    500,
    fcmError(500, 'INTERNAL', 'Internal error', 'INTERNAL'),
    undefined,
    { status: 'retry', scope: 'outage', reason: 'INTERNAL' },
  ],
  ['5xx without a JSON body', 502, '<html>bad gateway</html>', undefined, { status: 'retry', scope: 'outage', reason: 'HTTP 502' }],
  [
    'wrong project id (NOT_FOUND without UNREGISTERED)',
    404,
    fcmError(404, 'NOT_FOUND', 'Requested entity was not found.'),
    undefined,
    { status: 'failed', reason: 'NOT_FOUND' },
  ],
  [
    'parsed body object',
    404,
    { error: { status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } },
    undefined,
    { status: 'invalid', reason: 'UNREGISTERED', misconfiguration: FCM_MISCONFIGURATION.UNREGISTERED },
  ],
];

test.each(rows)('FCM %s', (_name, status, body, retryAfter, expected) => {
  expect(classifyFcm(status, body, retryAfter, NOW)).toEqual(expected);
});

test.each([
  [undefined, undefined],
  ['', undefined],
  ['120', 120_000],
  ['0', 0],
  ['soon', undefined],
  [new Date(NOW - 5000).toUTCString(), 0],
])('Retry-After %p -> %p ms', (header, ms) => {
  expect(parseRetryAfter(header, NOW)).toBe(ms);
});
