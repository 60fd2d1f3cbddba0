export * from './env';
export * from './config';
export * from './logger';
