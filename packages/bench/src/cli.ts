#!/usr/bin/env node
// `npm run bench -- [options]`: see options.ts (`--help`) and /tmp/readme-performance.md for the method.
import { runBench } from './main';
import { parseOptions, usage, UsageError } from './options';
import { formatReport } from './report';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  let options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n\n${usage}\n`);
      process.exit(2);
    }
    throw error;
  }
  const report = await runBench(options, (line) => process.stderr.write(`[bench] ${line}\n`));
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
