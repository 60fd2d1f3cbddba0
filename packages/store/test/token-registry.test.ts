import { TokenRegistry } from '@push/store';
import { startTestApi, type TestApi } from '@push/testing';

let api: TestApi;
let registry: TokenRegistry;
beforeAll(async () => {
  api = await startTestApi('registry');
  registry = new TokenRegistry(api.redis, api.prefix);
});
afterAll(() => api.close());

const ios = (n: number) => n.toString(16).padStart(64, 'b');
/** FCM tokens hold ':' (and are longer than the 64 bytes a compact Redis hash field may be). */
const fcm = (n: number) => `${String(n).padStart(22, 'f')}:APA91b${'x'.repeat(123)}`;

describe('token registry', () => {
  it("lists a client's devices oldest first; registering again moves the token and refreshes it", async () => {
    await registry.register('alice', 'ios', ios(1), 1000);
    await registry.register('alice', 'android', fcm(1), 2000);
    await registry.register('alice', 'ios', ios(2), 3000);
    expect(await registry.list('alice')).toEqual([
      { token: ios(1), platform: 'ios', createdAt: new Date(1000).toISOString() },
      { token: fcm(1), platform: 'android', createdAt: new Date(2000).toISOString() },
      { token: ios(2), platform: 'ios', createdAt: new Date(3000).toISOString() },
    ]);
    // The same token again for the same client: one entry, the newer time.
    await registry.register('alice', 'ios', ios(1), 4000);
    expect((await registry.list('alice')).map((t) => [t.token, t.createdAt])).toEqual([
      [fcm(1), new Date(2000).toISOString()],
      [ios(2), new Date(3000).toISOString()],
      [ios(1), new Date(4000).toISOString()],
    ]);
    // To another client: it leaves alice.
    await registry.register('bob', 'android', fcm(1), 5000);
    expect((await registry.list('alice')).map((t) => t.token)).toEqual([ios(2), ios(1)]);
    expect(await registry.list('bob')).toEqual([{ token: fcm(1), platform: 'android', createdAt: new Date(5000).toISOString() }]);
  });

  it('removes a token wherever it is and says whose it was; the last one leaves no key behind', async () => {
    await registry.register('carol', 'android', fcm(7));
    expect(await registry.remove(fcm(7))).toBe('carol');
    expect(await registry.remove(fcm(7))).toBeNull();
    expect(await registry.list('carol')).toEqual([]);
    expect(await api.redis.keys(`${api.prefix}:reg:d:{carol}`)).toEqual([]);
    expect(await registry.list('nobody')).toEqual([]);
  });

  it("refuses a token with a line break (the separator of a client's devices)", async () => {
    await expect(registry.register('dave', 'ios', 'ab\ncd')).rejects.toThrow(RangeError);
  });

  it.each([false, true])("resolves clients to one platform's tokens, in client order (Redis Cluster path: %s)", async (cluster) => {
    const clients = Array.from({ length: 2500 }, (_, i) => `res${cluster}${i}`);
    await Promise.all(clients.map((c, i) => registry.register(c, 'ios', ios(10_000 + i))));
    await Promise.all(clients.filter((_, i) => i % 3 === 0).map((c, i) => registry.register(c, 'android', fcm(10_000 + i))));
    // The Cluster path on the test's single Redis: the registry sees `isCluster`, ioredis does not.
    const client = cluster
      ? new Proxy(api.redis, {
          get(target, name) {
            if (name === 'isCluster') return true;
            const value: unknown = Reflect.get(target, name, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        })
      : api.redis;
    const resolver = new TokenRegistry(client, api.prefix);
    const wanted = [...clients, 'unknown-client'];
    expect(await resolver.resolve(wanted, 'ios')).toEqual(
      clients.map((c, i) => ({ client: c, token: ios(10_000 + i), at: expect.any(Number) })),
    );
    expect(await resolver.resolve(wanted, 'android')).toEqual(
      clients.filter((_, i) => i % 3 === 0).map((c, i) => ({ client: c, token: fcm(10_000 + i), at: expect.any(Number) })),
    );
  });

  it("keeps a web subscription's keys beside its endpoint, resolves them, and finds them again for a retried chunk", async () => {
    const endpoint = 'https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB:x?y=1';
    const keys = 'k'.repeat(108);
    await registry.register('erin', 'web', endpoint, 7000, { keys });
    await registry.register('erin', 'ios', ios(70), 8000);
    expect(await registry.list('erin')).toEqual([
      { token: endpoint, platform: 'web', createdAt: new Date(7000).toISOString() },
      { token: ios(70), platform: 'ios', createdAt: new Date(8000).toISOString() },
    ]);
    expect(await registry.resolve(['erin'], 'web')).toEqual([{ client: 'erin', token: endpoint, at: 7000, keys }]);
    expect(await registry.resolve(['erin'], 'ios')).toEqual([{ client: 'erin', token: ios(70), at: 8000 }]);
    expect(
      await registry.withKeys(
        [
          { client: 'erin', token: endpoint, at: 7000 },
          { client: 'erin', token: 'https://gone.example/x' },
        ],
        'web',
      ),
    ).toEqual([
      { client: 'erin', token: endpoint, at: 7000, keys },
      { client: 'erin', token: 'https://gone.example/x' },
    ]);
    expect(await registry.withKeys([{ client: 'erin', token: ios(70) }], 'ios')).toEqual([{ client: 'erin', token: ios(70) }]);
    expect(await registry.remove(endpoint)).toBe('erin');
    expect(await registry.list('erin')).toEqual([{ token: ios(70), platform: 'ios', createdAt: new Date(8000).toISOString() }]);
  });

  it('refuses keys for a platform without them, a web token without keys, and keys that are not base64url', async () => {
    await expect(registry.register('finn', 'web', 'https://fcm.googleapis.com/x')).rejects.toThrow(RangeError);
    await expect(registry.register('finn', 'ios', ios(71), Date.now(), { keys: 'k'.repeat(108) })).rejects.toThrow(RangeError);
    await expect(registry.register('finn', 'web', 'https://fcm.googleapis.com/x', Date.now(), { keys: 'a:b' })).rejects.toThrow(RangeError);
    expect(await registry.list('finn')).toEqual([]);
  });
});
