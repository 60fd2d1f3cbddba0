import type { Exchange, Handler } from './server';
import type { RecordedNotification, SimulatorStats } from './types';

/** What the `/_sim/` endpoints act on: the simulator's own public methods. */
export interface ControlTarget {
  received(): RecordedNotification[];
  receivedFor(token: string): RecordedNotification[];
  stats(): SimulatorStats;
  reset(): void;
  behaviour(): object;
  /** Throws (a BehaviourError) when the input is not a valid behaviour. */
  setBehaviour(input: unknown): void;
  outage(ms: number, status?: number): void;
  /** Web Push only: mints a subscription like a browser (`POST /_sim/subscribe`). */
  subscribe?(input: unknown): object;
}

const DEFAULT_LIMIT = 1000;

/**
 * The simulator's own small HTTP API, served on the same port as the provider API so a test or a person
 * can see what a device would have received:
 *   GET  /_sim/received?token=&limit=  newest `limit` (default 1000) records, oldest first
 *   GET  /_sim/stats                   counters
 *   POST /_sim/reset                   clear records, counters, flaky-once memory
 *   GET  /_sim/behaviour               current behaviour; POST: change it (JSON, partial)
 *   POST /_sim/outage                  {"ms": 5000, "status": 503}
 *   POST /_sim/subscribe               Web Push: {"name"?, "applicationServerKey"?} -> a PushSubscription
 */
export function controlHandler(target: ControlTarget): Handler {
  return (ex: Exchange) => {
    const url = new URL(ex.path, 'https://sim.invalid');
    const route = `${ex.method} ${url.pathname}`;
    try {
      if (route === 'POST /_sim/subscribe' && target.subscribe) return json(ex, 200, target.subscribe(parseBody(ex)));
      switch (route) {
        case 'GET /_sim/received': {
          const token = url.searchParams.get('token');
          const limitParam = url.searchParams.get('limit');
          const limit = limitParam === null ? DEFAULT_LIMIT : Number(limitParam);
          if (!Number.isInteger(limit) || limit < 0) return json(ex, 400, { error: 'limit must be a non-negative integer' });
          const all = token === null ? target.received() : target.receivedFor(token);
          return json(ex, 200, { total: all.length, items: limit === 0 ? [] : all.slice(-limit) });
        }
        case 'GET /_sim/stats':
          return json(ex, 200, target.stats());
        case 'POST /_sim/reset':
          target.reset();
          return json(ex, 200, { ok: true });
        case 'GET /_sim/behaviour':
          return json(ex, 200, target.behaviour());
        case 'POST /_sim/behaviour':
          target.setBehaviour(parseBody(ex));
          return json(ex, 200, target.behaviour());
        case 'POST /_sim/outage': {
          const body = parseBody(ex) as { ms?: unknown; status?: unknown };
          if (typeof body.ms !== 'number' || body.ms < 0) return json(ex, 400, { error: 'ms must be a number >= 0' });
          if (body.status !== undefined && typeof body.status !== 'number') return json(ex, 400, { error: 'status must be a number' });
          target.outage(body.ms, body.status);
          return json(ex, 200, target.behaviour());
        }
        default:
          return json(ex, 404, { error: `no such control endpoint: ${route}` });
      }
    } catch (err) {
      return json(ex, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}

function parseBody(ex: Exchange): unknown {
  const text = ex.body.toString('utf8');
  return text.trim() === '' ? {} : JSON.parse(text);
}

function json(ex: Exchange, status: number, value: unknown): void {
  ex.respond(status, { 'content-type': 'application/json' }, JSON.stringify(value));
}
