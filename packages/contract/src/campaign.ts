import { z } from 'zod';

/** How far ahead `sendAt` may be (contract Part 2, "Campaign controls"): 30 days. */
export const MAX_SCHEDULE_SECONDS = 30 * 24 * 3600;

/** `localTime`: a wall-clock time of day, 24-hour `HH:MM`. */
export const localTimeSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time of day, HH:MM');

/** Node's IANA names by lower case, to give each accepted name its proper case. */
let ianaNames: Map<string, string> | undefined;

/**
 * `zone` as an IANA name with its proper case (`asia/taipei` -> `Asia/Taipei`), or undefined when Node's
 * time-zone database does not know it. Links stay as given (`Asia/Calcutta`): Intl's own canonical form
 * turns new names into old ones (`Asia/Kolkata` -> `Asia/Calcutta`), which would surprise the caller.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  // IANA names only: Intl also takes UTC offsets (`+05:30`), which carry no daylight-saving rules.
  if (zone.length > 64 || !/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    return undefined;
  }
  ianaNames ??= new Map(Intl.supportedValuesOf('timeZone').map((name) => [name.toLowerCase(), name]));
  return ianaNames.get(zone.toLowerCase()) ?? zone;
}

/** An IANA time-zone name (`Asia/Taipei`), checked against Node's own time-zone database and canonicalised. */
export const timeZoneSchema = z.string().transform((zone, ctx) => {
  const canonical = canonicalTimeZone(zone);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an IANA time-zone name such as Asia/Taipei' });
    return z.NEVER;
  }
  return canonical;
});

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at instant `at` (ms), from the time-zone database: DST and 30/45-minute zones included. */
function offsetMs(zone: string, at: number): number {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(at)) part[type] = Number(value);
  const wall = Date.UTC(part.year!, part.month! - 1, part.day, part.hour, part.minute, part.second);
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * The instant at which the wall clock of `zone` shows `wall` (a local date and time written as if it were
 * UTC, in ms). Where the clock skips that time (the spring-forward gap) it is the instant just as far past
 * the gap (02:30 in a 02:00 -> 03:00 gap is 03:30); where it shows it twice (fall back), the first
 * (the rule of RFC 5545 and of Temporal's "compatible" disambiguation).
 */
function zonedInstant(wall: number, zone: string): number {
  const DAY = 86_400_000;
  const before = offsetMs(zone, wall - DAY);
  const after = offsetMs(zone, wall + DAY);
  const candidates = [wall - before, wall - after].filter((at) => at + offsetMs(zone, at) === wall);
  if (candidates.length === 0) return wall - before;
  return Math.min(...candidates);
}

/**
 * The first instant at or after `from` (ms) at which `localTime` (`HH:MM`) occurs in `zone` (an IANA name
 * `canonicalTimeZone` accepts): the delivery time of a `localTime` job to a client of that zone.
 */
export function nextLocalTime(from: number, localTime: string, zone: string): number {
  const [hours, minutes] = localTime.split(':').map(Number) as [number, number];
  const local = new Date(from + offsetMs(zone, from));
  // Today's, else tomorrow's; the day after only when tomorrow's falls in a gap that lands before `from`.
  for (let day = 0; day < 3; day++) {
    const wall = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + day, hours, minutes);
    const at = zonedInstant(wall, zone);
    if (at >= from) return at;
  }
  throw new RangeError(`no ${localTime} in ${zone} within three days of ${new Date(from).toISOString()}`);
}
