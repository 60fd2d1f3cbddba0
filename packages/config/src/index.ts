export * from './env';
export * from './config';
export * from './logger';
export * from './secrets';
export * from './doc';
export * from './process';
