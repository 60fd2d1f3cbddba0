import { batched } from './batched';
import type { RedisClient } from './redis';
import { storeKeys } from './keys';
import { storeScripts } from './scripts';

/** When the dead-token guard judges, and how strictly (README, "Configuration", DEAD_TOKEN_GUARD_*). */
export interface GuardSettings {
  /** Answers a window holds before it is judged. */
  window: number;
  /** A cause whose answers are more than this share (0..1) of the window's answers is a suspected misconfiguration. */
  share: number;
  /** A window older than this is judged on the answers it has. */
  waitMs: number;
}

/** A window that was just judged. Whoever closed it raises the alarm (once per window). */
export interface ClosedWindow {
  window: number;
  answers: number;
  /** The causes judged a misconfiguration in it (empty: every dead token in it was really dead). */
  suspected: string[];
}

/** The window a group's answers went into, and any window their counting closed. */
export interface Observed {
  window: number;
  closed: ClosedWindow[];
}

/** One send group's answers for the guard. */
interface GroupAnswers {
  answers: number;
  byCause: ReadonlyMap<string, number>;
  fingerprint: string;
}

export interface GuardVerdict {
  answers: number;
  suspected: ReadonlySet<string>;
}

/**
 * The guard against mass invalidation, shared by every worker of one delivery scope through one Redis
 * hash. Answers that call a token dead for a reason a misconfiguration would also produce (a "cause":
 * sandbox vs production, wrong project, wrong topic) are not acted on at once: they are counted in a
 * window of recent answers (every answer with an HTTP status counts), and judged when the window is full
 * (`window` answers) or old (`waitMs`). A cause with more than `share` of the window's answers is a
 * suspected misconfiguration: those tokens stay registered. Otherwise they were really dead.
 *
 * Why windows that close, rather than a sliding share: nothing is deleted before its window is judged,
 * so a misconfiguration cannot delete the first few hundred tokens while the share is still building up.
 * Windows are also closed when the sender's configuration changes (a deploy), so the answers of a new,
 * wrong configuration are never diluted by the old one's healthy answers. (The script:
 * `commands/deadTokenGuard-1.lua`.)
 */
export class DeadTokenGuard {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    scope: string,
    private readonly settings: GuardSettings,
  ) {
    this.key = storeKeys(prefix).deadTokenGuard(scope);
  }

  /**
   * Counts one group's `answers`, `byCause` of them guarded; returns their window and any window closed.
   * The groups of concurrent callers are counted together, in one script call per fingerprint; a closed
   * window is returned to one of them (whoever gets it raises the alarm, once).
   */
  observe(answers: number, byCause: ReadonlyMap<string, number>, fingerprint: string): Promise<Observed> {
    return this.observeTogether({ answers, byCause, fingerprint });
  }

  private readonly observeTogether = batched(async (groups: GroupAnswers[]): Promise<Observed[]> => {
    const out = new Array<Observed>(groups.length);
    for (const fingerprint of new Set(groups.map((g) => g.fingerprint))) {
      const mine = groups.flatMap((g, i) => (g.fingerprint === fingerprint ? [i] : []));
      let answers = 0;
      const byCause = new Map<string, number>();
      for (const i of mine) {
        answers += groups[i]!.answers;
        for (const [cause, n] of groups[i]!.byCause) byCause.set(cause, (byCause.get(cause) ?? 0) + n);
      }
      const observed = await this.observeNow(answers, byCause, fingerprint);
      mine.forEach((i, k) => (out[i] = k === 0 ? observed : { window: observed.window, closed: [] }));
    }
    return out;
  });

  private async observeNow(answers: number, byCause: ReadonlyMap<string, number>, fingerprint: string): Promise<Observed> {
    const { window, share, waitMs } = this.settings;
    const pairs = [...byCause].flat();
    const out = await storeScripts(this.redis).deadTokenGuard(this.key, 'observe', share, waitMs, window, fingerprint, answers, ...pairs);
    const closed: ClosedWindow[] = [];
    for (let i = 1; i + 1 < out.length; i += 2) closed.push({ window: Number(out[i]), ...parseVerdict(String(out[i + 1])) });
    return { window: Number(out[0]), closed };
  }

  /**
   * The verdict on `window`: judged (and `closed` when this call judged it), `waitMs` while it is still
   * open, or `unknown` when it is gone (expired with its hash).
   */
  async verdict(window: number): Promise<{ verdict: GuardVerdict; closed?: ClosedWindow } | { waitMs: number } | { unknown: true }> {
    const { share, waitMs } = this.settings;
    const out = await storeScripts(this.redis).deadTokenGuard(this.key, 'verdict', share, waitMs, window);
    if (out[0] === 0) return { waitMs: Number(out[1]) };
    if (out[0] !== 1) return { unknown: true };
    const parsed = parseVerdict(String(out[1]));
    const verdict = { answers: parsed.answers, suspected: new Set(parsed.suspected) };
    return out[2] === 1 ? { verdict, closed: { window, ...parsed } } : { verdict };
  }
}

function parseVerdict(text: string): { answers: number; suspected: string[] } {
  const bar = text.indexOf('|');
  const causes = text.slice(bar + 1);
  return { answers: Number(text.slice(0, bar)), suspected: causes === '' ? [] : causes.split('\n') };
}
