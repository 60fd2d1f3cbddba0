export * from './envelope';
export * from './schemas';
export * from './mapping';
export * from './webpush';
