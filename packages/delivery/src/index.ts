export * from './outcomes';
export * from './pipeline';
export * from './worker';
export * from './service';
export * from './app-providers';
export * from './app-contexts';
export * from './lane-gate';
export * from './job-share';
