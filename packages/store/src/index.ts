export * from './redis';
export * from './keys';
export * from './token-registry';
export * from './job-store';
export * from './rate-limiter';
export * from './provider-pause';
export * from './queues';
export * from './scripts';
