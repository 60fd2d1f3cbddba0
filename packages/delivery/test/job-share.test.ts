import { JobShare } from '@push/delivery';

/** A chunk of `job` running in `share` until `end()`; `turn()` is its next send group's turn. */
function chunkOf(share: JobShare, job: string) {
  let end!: () => void;
  const done = share.run(job, () => new Promise<void>((resolve) => (end = resolve)));
  return {
    turn: (stopping?: AbortSignal) => share.turn(job, false, stopping),
    /** The turn of a chunk of a throttled job. */
    pacedTurn: () => share.turn(job, true),
    end: async () => (end(), done),
  };
}

/** Which of `turns` have resolved once the microtasks queued now have run. */
async function resolved(turns: Array<Promise<void>>): Promise<boolean[]> {
  const state = turns.map(() => false);
  turns.forEach((t, i) => void t.then(() => (state[i] = true)));
  await new Promise((r) => setImmediate(r));
  return state;
}

describe('JobShare: no normal job sends on more chunks of a process than the other running jobs have', () => {
  it('never holds a job running alone, however many slots it fills', async () => {
    const share = new JobShare();
    const blast = [1, 2, 3, 4].map(() => chunkOf(share, 'blast'));
    expect(await resolved(blast.map((c) => c.turn()))).toEqual([true, true, true, true]);
  });

  it("parks a blast's chunks down to the campaign's count while it runs, and lets them on as it grows and ends", async () => {
    const share = new JobShare();
    const blast = [1, 2, 3].map(() => chunkOf(share, 'blast'));
    const campaign = chunkOf(share, 'campaign');
    // One campaign chunk: the blast sends on one chunk, the two first to ask park.
    const blastTurns = blast.map((c) => c.turn());
    expect(await resolved([...blastTurns, campaign.turn()])).toEqual([false, false, true, true]);
    // The sending chunk keeps sending.
    expect(await resolved([blast[2]!.turn()])).toEqual([true]);
    // A second campaign chunk: the blast may send on two (the longest parked goes first).
    const second = chunkOf(share, 'campaign');
    expect(await resolved(blastTurns.slice(0, 2))).toEqual([true, false]);
    await campaign.end();
    await second.end();
    expect(await resolved(blastTurns.slice(1, 2))).toEqual([true]);
  });

  it('gives a parked chunk its turn when a sending chunk of its own job ends', async () => {
    const share = new JobShare();
    const blast = [1, 2].map(() => chunkOf(share, 'blast'));
    chunkOf(share, 'campaign');
    const parked = blast[0]!.turn();
    expect(await resolved([parked, blast[1]!.turn()])).toEqual([false, true]);
    await blast[1]!.end();
    expect(await resolved([parked])).toEqual([true]);
  });

  it('releases parked chunks when the worker stops', async () => {
    const share = new JobShare();
    const blast = [1, 2].map(() => chunkOf(share, 'blast'));
    chunkOf(share, 'campaign');
    const stopping = new AbortController();
    const turns = blast.map((c) => c.turn(stopping.signal));
    expect(await resolved(turns)).toEqual([false, true]);
    stopping.abort();
    expect(await resolved(turns)).toEqual([true, true]);
  });

  it('neither parks a throttled job nor lets it hold another job back', async () => {
    const share = new JobShare();
    const blast = [1, 2, 3].map(() => chunkOf(share, 'blast'));
    const throttled = chunkOf(share, 'slow campaign');
    // Before its first send it counts like any job: the blast is held to one sender.
    const held = [blast[0]!.turn(), blast[1]!.turn()];
    expect(await resolved([...held, blast[2]!.turn()])).toEqual([false, false, true]);
    // Once it says it is throttled, the blast's parked chunks go on, and a second throttled chunk sends too.
    expect(await resolved([throttled.pacedTurn(), ...held])).toEqual([true, true, true]);
    expect(await resolved([chunkOf(share, 'slow campaign').pacedTurn(), blast[0]!.turn()])).toEqual([true, true]);
  });
});
