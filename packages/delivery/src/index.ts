export * from './outcomes';
export * from './pipeline';
export * from './worker';
export * from './process';
export * from './app-providers';
export * from './app-contexts';
