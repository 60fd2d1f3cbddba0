#!/usr/bin/env node
// The one place that builds before running: `node scripts/run-built.js <entry> [args]` brings every
// workspace's dist/ up to date (turbo: only what changed is rebuilt), then runs <entry> in this very
// process, so signals (Ctrl-C, SIGTERM) and the exit code are the program's own.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run-built.js <entry.js> [args...]\n');
  process.exit(2);
}
const build = spawnSync(process.execPath, [require.resolve('turbo/bin/turbo'), 'run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  stdio: ['ignore', process.stderr, 'inherit'],
});
if (build.status !== 0) process.exit(build.status ?? 1);
process.argv = [process.argv[0], path.resolve(root, entry), ...args];
require(path.resolve(root, entry));
