/**
 * The time the scheduling decisions read (`sendAt`, `localTime`, `expiry`): the system clock in production;
 * tests pass one that runs faster, to cover hours of time zones in seconds.
 */
export interface Clock {
  /** Now, in epoch ms. */
  now(): number;
  /** The real ms to wait until the clock shows `at` (epoch ms); negative when it already has. */
  msUntil(at: number): number;
}

export const systemClock: Clock = { now: () => Date.now(), msUntil: (at) => at - Date.now() };
