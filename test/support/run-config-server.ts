/** Child-process entry for e2e tests: `node --import tsx test/support/run-config-server.ts CONFIG` runs the server from source. */
import { runServer } from '../../src/server/run-server.js';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: run-config-server.ts CONFIG_FILE\n');
  process.exit(1);
}
process.exitCode = await runServer({ dev: false, configPath });
