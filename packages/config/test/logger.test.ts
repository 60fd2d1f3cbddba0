import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The log format of a process (its own stdout, so each case runs in a child process of the built package).
const config = join(__dirname, '../dist');

function logLine(env: Record<string, string>): string {
  const script = `require(${JSON.stringify(config)}).createLogger('t', { LOG_LEVEL: 'info', ...JSON.parse(process.argv[1]) }).info({ jobId: 'j1' }, 'chunk done')`;
  const run = spawnSync(process.execPath, ['-e', script, JSON.stringify(env)], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  expect(run.status).toBe(0);
  return run.stdout.trim();
}

describe('logs', () => {
  it('are one JSON object per line in production', () => {
    expect(JSON.parse(logLine({ NODE_ENV: 'production' }))).toMatchObject({ level: 30, name: 't', jobId: 'j1', msg: 'chunk done' });
  });

  it('are readable lines (pino-pretty) outside production', () => {
    const line = logLine({ NODE_ENV: 'development' });
    expect(() => JSON.parse(line) as unknown).toThrow();
    expect(line).toMatch(/INFO.*\(t\): chunk done/);
    expect(line).toContain('jobId: "j1"');
  });

  it('follow LOG_FORMAT when it is set', () => {
    expect(JSON.parse(logLine({ NODE_ENV: 'development', LOG_FORMAT: 'json' })).msg).toBe('chunk done');
    expect(logLine({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' })).toMatch(/INFO.*chunk done/);
  });
});
