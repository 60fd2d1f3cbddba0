import { APNS_MISCONFIGURATION, classifyApns, type SendOutcome } from '@push/providers';

const { BadDeviceToken, DeviceTokenNotForTopic, Unregistered } = APNS_MISCONFIGURATION;

// Each row of the table in src/apns-classify.ts (Apple, "Handling notification responses from APNs").
const rows: Array<[number, string | undefined, SendOutcome]> = [
  [200, undefined, { status: 'sent' }],
  [410, 'Unregistered', { status: 'invalid', reason: 'Unregistered', misconfiguration: Unregistered }],
  [410, 'ExpiredToken', { status: 'invalid', reason: 'ExpiredToken', misconfiguration: Unregistered }],
  [400, 'BadDeviceToken', { status: 'invalid', reason: 'BadDeviceToken', misconfiguration: BadDeviceToken }],
  [400, 'DeviceTokenNotForTopic', { status: 'invalid', reason: 'DeviceTokenNotForTopic', misconfiguration: DeviceTokenNotForTopic }],
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
  [500, 'InternalServerError', { status: 'retry', scope: 'outage', reason: 'InternalServerError' }],
  [503, 'ServiceUnavailable', { status: 'retry', scope: 'outage', reason: 'ServiceUnavailable' }],
  [503, 'Shutdown', { status: 'retry', scope: 'outage', reason: 'Shutdown' }],
  [502, undefined, { status: 'retry', scope: 'outage', reason: 'HTTP 502' }],
  [418, undefined, { status: 'failed', reason: 'HTTP 418' }],
];

test.each(rows)('APNs %i %s', (status, reason, expected) => {
  expect(classifyApns(status, reason)).toEqual(expected);
});

test('APNs 410 carries its timestamp as `since`', () => {
  expect(classifyApns(410, 'Unregistered', { timestamp: 1_700_000_000_000 })).toEqual({
    status: 'invalid',
    reason: 'Unregistered',
    misconfiguration: Unregistered,
    since: 1_700_000_000_000,
  });
});

test('APNs DeviceTokenNotForTopic for a topic the payload chose is failed, never a dead token', () => {
  expect(classifyApns(400, 'DeviceTokenNotForTopic', { configuredTopic: false })).toEqual({
    status: 'failed',
    reason: "DeviceTokenNotForTopic (the payload's topic)",
    misconfiguration: DeviceTokenNotForTopic,
  });
});
