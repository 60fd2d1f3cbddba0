import { classifyApns, type SendOutcome } from '@push/providers';

// Each row of the table in src/apns-classify.ts (Apple, "Handling notification responses from APNs").
const rows: Array<[number, string | undefined, SendOutcome]> = [
  [200, undefined, { status: 'sent' }],
  [410, 'Unregistered', { status: 'invalid', reason: 'Unregistered' }],
  [410, 'ExpiredToken', { status: 'invalid', reason: 'ExpiredToken' }],
  [400, 'BadDeviceToken', { status: 'invalid', reason: 'BadDeviceToken' }],
  [400, 'DeviceTokenNotForTopic', { status: 'invalid', reason: 'DeviceTokenNotForTopic' }],
  [400, 'IdleTimeout', { status: 'retry', scope: 'token', reason: 'IdleTimeout' }],
  [400, 'MissingTopic', { status: 'failed', reason: 'MissingTopic' }],
  [400, 'BadTopic', { status: 'failed', reason: 'BadTopic' }],
  [400, 'TopicDisallowed', { status: 'failed', reason: 'TopicDisallowed' }],
  [400, 'BadExpirationDate', { status: 'failed', reason: 'BadExpirationDate' }],
  [400, 'BadPriority', { status: 'failed', reason: 'BadPriority' }],
  [400, 'BadCollapseId', { status: 'failed', reason: 'BadCollapseId' }],
  [400, 'InvalidPushType', { status: 'failed', reason: 'InvalidPushType' }],
  [400, 'PayloadEmpty', { status: 'failed', reason: 'PayloadEmpty' }],
  [403, 'InvalidProviderToken', { status: 'failed', reason: 'InvalidProviderToken' }],
  [403, 'BadCertificate', { status: 'failed', reason: 'BadCertificate' }],
  [403, 'ExpiredProviderToken', { status: 'failed', reason: 'ExpiredProviderToken' }],
  [403, 'MissingProviderToken', { status: 'failed', reason: 'MissingProviderToken' }],
  [404, 'BadPath', { status: 'failed', reason: 'BadPath' }],
  [405, 'MethodNotAllowed', { status: 'failed', reason: 'MethodNotAllowed' }],
  [413, 'PayloadTooLarge', { status: 'failed', reason: 'PayloadTooLarge' }],
  [429, 'TooManyRequests', { status: 'retry', scope: 'token', reason: 'TooManyRequests' }],
  [429, 'TooManyProviderTokenUpdates', { status: 'retry', scope: 'token', reason: 'TooManyProviderTokenUpdates' }],
  [500, 'InternalServerError', { status: 'retry', scope: 'token', reason: 'InternalServerError' }],
  [503, 'ServiceUnavailable', { status: 'retry', scope: 'token', reason: 'ServiceUnavailable' }],
  [503, 'Shutdown', { status: 'retry', scope: 'token', reason: 'Shutdown' }],
  [502, undefined, { status: 'retry', scope: 'token', reason: 'HTTP 502' }],
  [418, undefined, { status: 'failed', reason: 'HTTP 418' }],
];

test.each(rows)('APNs %i %s', (status, reason, expected) => {
  expect(classifyApns(status, reason)).toEqual(expected);
});
