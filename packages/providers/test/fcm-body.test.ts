import { toFcm, type Payload } from '@push/contract';
import { messageBody } from '@push/providers';

describe('messageBody (the FCM request body, the message encoded once per send)', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it.each<[string, Payload]>([
    ['an empty message', {}],
    ['every field', { title: 'T', body: 'B', icon: 'bell', collapseKey: 'c', type: 'chat', expiry: now / 1000 + 60 }],
    ['characters JSON escapes', { alert: '系統 "quoted" \\ back\u2028slash\n' }],
  ])('%s: the same JSON as {message: {...message, token}}', (_name, payload) => {
    const message = toFcm(payload, now);
    const token = 'abc:DEF-ghi_123';
    expect(JSON.parse(messageBody(message)(token))).toEqual({ message: { ...message, token } });
  });
});
