import type { RecordedNotification, SimulatorStats } from './types';

/**
 * What a simulator accepted (a bounded ring: the oldest entries are dropped once `limit` is reached) and
 * its counters, which keep counting everything.
 */
export class Recorder {
  private ring: RecordedNotification[] = [];
  /** Index of the oldest entry once the ring is full. */
  private head = 0;
  private counters = freshCounters();

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    if (limit === this.limit) return;
    const all = this.all();
    this.limit = Math.max(0, limit);
    this.ring = this.limit === 0 ? [] : all.slice(-this.limit);
    this.head = 0;
  }

  add(n: RecordedNotification): void {
    this.counters.accepted++;
    if (this.limit === 0) return;
    if (this.ring.length < this.limit) {
      this.ring.push(n);
    } else {
      this.ring[this.head] = n;
      this.head = (this.head + 1) % this.limit;
    }
  }

  /** Oldest first. */
  all(): RecordedNotification[] {
    return this.head === 0 ? this.ring.slice() : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }

  forToken(token: string): RecordedNotification[] {
    return this.all().filter((n) => n.token === token);
  }

  request(): void {
    this.counters.requests++;
  }

  reject(reason: string): void {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
  }

  sessionOpened(): void {
    this.counters.sessions++;
  }

  streamOpened(): void {
    const c = this.counters;
    c.inFlight++;
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight;
  }

  streamClosed(): void {
    this.counters.inFlight--;
  }

  stats(): SimulatorStats {
    const c = this.counters;
    return { ...c, rejected: { ...c.rejected } };
  }

  /** Clears records and counters; streams still open stay counted as in flight. */
  reset(): void {
    this.ring = [];
    this.head = 0;
    const inFlight = this.counters.inFlight;
    this.counters = freshCounters();
    this.counters.inFlight = inFlight;
    this.counters.maxInFlight = inFlight;
  }
}

function freshCounters(): SimulatorStats {
  return { requests: 0, accepted: 0, rejected: {}, sessions: 0, inFlight: 0, maxInFlight: 0 };
}
