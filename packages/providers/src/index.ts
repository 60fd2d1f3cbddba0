export * from './provider';
export * from './errors';
export * from './apns';
export * from './apns-classify';
export * from './fcm';
export * from './fcm-classify';
export type { FcmCredential } from '@push/config';
export { isApnsToken, isFcmToken } from './token-format';
export * from './webpush';
