import { canonicalTimeZone, nextLocalTime, timeZoneSchema } from '@push/contract';

const at = (iso: string) => Date.parse(iso);

describe('nextLocalTime (the time-zone database through Intl)', () => {
  it.each<[string, string, string, string, string]>([
    // name, from (UTC), localTime, zone, expected instant (UTC)
    ['later today in UTC', '2026-03-01T08:00:00Z', '09:00', 'UTC', '2026-03-01T09:00:00Z'],
    ['exactly now counts', '2026-03-01T09:00:00Z', '09:00', 'UTC', '2026-03-01T09:00:00Z'],
    ['passed today: tomorrow', '2026-03-01T09:00:01Z', '09:00', 'UTC', '2026-03-02T09:00:00Z'],
    ['UTC+5:45 (Kathmandu)', '2026-03-01T00:00:00Z', '09:00', 'Asia/Kathmandu', '2026-03-01T03:15:00Z'],
    ['UTC+5:30 (Kolkata)', '2026-03-01T00:00:00Z', '09:00', 'Asia/Kolkata', '2026-03-01T03:30:00Z'],
    ['UTC-3:30 (St Johns, winter)', '2026-01-10T00:00:00Z', '09:00', 'America/St_Johns', '2026-01-10T12:30:00Z'],
    ['UTC-2:30 (St Johns, summer)', '2026-07-10T00:00:00Z', '09:00', 'America/St_Johns', '2026-07-10T11:30:00Z'],
    ['UTC+13:45 (Chatham, summer)', '2026-01-10T00:00:00Z', '09:00', 'Pacific/Chatham', '2026-01-10T19:15:00Z'],
    ['UTC+12:45 (Chatham, winter)', '2026-07-10T00:00:00Z', '09:00', 'Pacific/Chatham', '2026-07-10T20:15:00Z'],
    ['the local date is already tomorrow', '2026-03-01T20:00:00Z', '08:00', 'Asia/Tokyo', '2026-03-01T23:00:00Z'],
    ['the local date is still yesterday', '2026-03-02T03:00:00Z', '21:00', 'America/Los_Angeles', '2026-03-02T05:00:00Z'],
    ['New York the day before the spring change (EST)', '2026-03-07T12:00:00Z', '09:00', 'America/New_York', '2026-03-07T14:00:00Z'],
    ['New York on the day of the spring change (EDT)', '2026-03-07T15:00:00Z', '09:00', 'America/New_York', '2026-03-08T13:00:00Z'],
    ['New York after the spring change (EDT)', '2026-03-08T14:00:00Z', '09:00', 'America/New_York', '2026-03-09T13:00:00Z'],
    ['a time the spring change skips: as far past the gap', '2026-03-08T05:00:00Z', '02:30', 'America/New_York', '2026-03-08T07:30:00Z'],
    ['a time the autumn change repeats: the first', '2026-11-01T04:00:00Z', '01:30', 'America/New_York', '2026-11-01T05:30:00Z'],
    ['Europe on its own change day', '2026-03-29T00:00:00Z', '09:00', 'Europe/Berlin', '2026-03-29T07:00:00Z'],
  ])('%s', (_name, from, localTime, zone, expected) => {
    expect(new Date(nextLocalTime(at(from), localTime, zone)).toISOString()).toBe(new Date(expected).toISOString());
  });
});

describe('time-zone names', () => {
  it.each<[string, string | undefined]>([
    ['Asia/Taipei', 'Asia/Taipei'],
    ['asia/taipei', 'Asia/Taipei'],
    ['UTC', 'UTC'],
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['America/Argentina/Buenos_Aires', 'America/Argentina/Buenos_Aires'],
    ['Mars/Olympus', undefined],
    ['+05:30', undefined],
    ['', undefined],
    ['Asia/Taipei\n', undefined],
  ])('%j -> %j', (zone, expected) => {
    expect(canonicalTimeZone(zone)).toBe(expected);
    expect(timeZoneSchema.safeParse(zone).success).toBe(expected !== undefined);
  });
});
