/** `send()` was called after `close()`: a programming error in the caller, not a provider answer. */
export class ProviderClosedError extends Error {
  constructor(platform: string) {
    super(`the ${platform} provider is closed`);
    this.name = this.constructor.name;
  }
}

/** A provider cannot be built from its options (missing project id, unreadable service account). */
export class ProviderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

/** A provider request got no answer within its timeout. */
export class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = this.constructor.name;
  }
}
