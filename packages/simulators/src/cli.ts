#!/usr/bin/env node
// The standalone simulators (`npm run simulators`): read SIM_* variables, start both, print where they
// listen and the environment a worker needs, close on SIGTERM/SIGINT. `--json` prints one JSON line.
import { simulatorOptionsFromEnv, SimulatorEnvError } from './env';
import { startSimulators } from './start';

async function main(): Promise<void> {
  let options;
  try {
    options = simulatorOptionsFromEnv(process.env);
  } catch (err) {
    if (err instanceof SimulatorEnvError) {
      console.error(`simulators: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const sims = await startSimulators(options);
  console.log(process.argv.includes('--json') ? JSON.stringify(sims.info) : sims.describe());

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.error(`simulators: ${signal}, closing`);
    sims.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  const hint =
    e.code === 'EADDRINUSE' ? ' (a port is taken: set SIM_APNS_PORT / SIM_FCM_PORT / SIM_WEBPUSH_PORT, 0 for any free port)' : '';
  console.error(`simulators: ${e.message ?? String(err)}${hint}`);
  process.exit(1);
});
