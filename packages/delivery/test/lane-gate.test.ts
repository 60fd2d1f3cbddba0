import { HIGH_LANE_GATE_MAX_MS, HighLaneGate } from '@push/delivery';

/** Whether `promise` has settled once `ms` of fake time (and the microtasks they release) have passed. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await jest.advanceTimersByTimeAsync(ms);
  return settled;
}

describe('HighLaneGate: normal chunks step aside while a high chunk of the process runs', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets a normal chunk through at once when no high chunk runs', async () => {
    const gate = new HighLaneGate();
    expect(await settledWithin(gate.normal(), 0)).toBe(true);
  });

  it('holds normal chunks until the last running high chunk ends, and returns what the high chunk returns', async () => {
    const gate = new HighLaneGate();
    let endFirst!: () => void;
    let endSecond!: () => void;
    const first = gate.high(() => new Promise<string>((r) => (endFirst = () => r('first'))));
    const second = gate.high(() => new Promise<string>((r) => (endSecond = () => r('second'))));
    const waiting = gate.normal();
    expect(await settledWithin(waiting, 100)).toBe(false);
    endFirst();
    expect(await first).toBe('first');
    expect(await settledWithin(waiting, 100)).toBe(false);
    endSecond();
    expect(await second).toBe('second');
    expect(await settledWithin(waiting, 0)).toBe(true);
  });

  it('does not hold a normal chunk for high chunks that start while it waits (a flood of alerts never starves it)', async () => {
    const gate = new HighLaneGate();
    const ends: Array<() => void> = [];
    const start = () => void gate.high(() => new Promise<void>((r) => ends.push(r)));
    start();
    const waiting = gate.normal();
    // Alerts keep coming: one always runs, but the one running when the normal chunk arrived ends.
    start();
    ends.shift()!();
    start();
    expect(await settledWithin(waiting, 0)).toBe(true);
    // A later normal chunk waits for those running at its own arrival.
    const next = gate.normal();
    ends.shift()!();
    expect(await settledWithin(next, 0)).toBe(false);
    ends.shift()!();
    expect(await settledWithin(next, 0)).toBe(true);
  });

  it('opens after a failed high chunk too', async () => {
    const gate = new HighLaneGate();
    let fail!: () => void;
    const high = gate.high(() => new Promise<void>((_, reject) => (fail = () => reject(new Error('provider down')))));
    const waiting = gate.normal();
    fail();
    await expect(high).rejects.toThrow('provider down');
    expect(await settledWithin(waiting, 0)).toBe(true);
  });

  it('holds a normal chunk HIGH_LANE_GATE_MAX_MS at most, and not at all once the worker stops', async () => {
    const gate = new HighLaneGate();
    void gate.high(() => new Promise(() => undefined));
    const waiting = gate.normal();
    expect(await settledWithin(waiting, HIGH_LANE_GATE_MAX_MS - 1)).toBe(false);
    expect(await settledWithin(waiting, 1)).toBe(true);

    const stopping = new AbortController();
    const held = gate.normal(stopping.signal);
    stopping.abort();
    expect(await settledWithin(held, 0)).toBe(true);
  });
});
