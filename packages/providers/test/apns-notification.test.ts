import { toApns, type Payload } from '@push/contract';
import { toNotification } from '@push/providers';

// node-apn must send exactly the contract's mapping: same headers, same body.
test.each<[string, Payload, string | undefined]>([
  [
    'alert with topic, expiry and type',
    { alert: 'hi', badge: 2, sound: 'ping', topic: 'com.example.app', expiry: 2_000_000_000, type: 'chat' },
    undefined,
  ],
  ['title/body with the default topic', { title: 'T', body: 'B' }, 'com.example.default'],
  ['background (shows nothing)', { type: 'sync' }, 'com.example.default'],
  ['no topic at all', { alert: 'x' }, undefined],
])('%s', (_name, payload, defaultTopic) => {
  const mapped = toApns(payload, defaultTopic);
  // headers() and compile() are what node-apn's Provider sends (lib/provider.js); its typings omit them.
  const notification = toNotification(mapped) as unknown as { headers(): Record<string, unknown>; compile(): string };
  const headers = Object.fromEntries(Object.entries(notification.headers()).map(([k, v]) => [k, String(v)]));
  expect(headers).toEqual(mapped.headers);
  expect(JSON.parse(notification.compile())).toEqual(mapped.body);
});
