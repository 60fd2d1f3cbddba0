export default async function globalTeardown(): Promise<void> {
  const stop = (globalThis as Record<string, unknown>).__pushRedisStop as (() => Promise<unknown>) | undefined;
  await stop?.();
}
