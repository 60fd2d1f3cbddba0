export * from './outcomes';
export * from './pipeline';
export * from './worker';
export * from './service';
