/** The part of http_ece (the RFC 8188 / 8291 library web-push itself uses) the Web Push simulator calls. */
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';

  /** Decrypts an aes128gcm body with the receiver's key pair and auth secret (base64url); throws when it cannot. */
  export function decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
}
