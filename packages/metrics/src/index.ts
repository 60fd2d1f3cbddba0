export * from './registry';
export * from './delivery-metrics';
export * from './api-metrics';
export * from './server';
export type { Registry } from 'prom-client';
