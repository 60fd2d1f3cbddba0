export * from './envelope';
export * from './schemas';
export * from './mapping';
export * from './apps';
export * from './chunk';
export * from './examples';
export * from './campaign';
export * from './webpush';
