export * from './redis';
export * from './api';
export * from './stack';
export * from './processes';
export * from './apps';
export * from './http';
