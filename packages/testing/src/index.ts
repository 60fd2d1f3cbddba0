export * from './redis';
export * from './redis-server';
export * from './api';
export * from './stack';
export * from './processes';
export * from './apps';
