/**
 * One `cadre worker`-like process for the multi-worker test: hosts actors by lease on a shared
 * Postgres store until killed. argv: <connectionString> <schema> <owner>
 */
import { createAgentSystem } from '../../src/system.js';

const [url, schema, owner] = process.argv.slice(2);
const system = await createAgentSystem({
  store: { kind: 'postgres', connectionString: url! },
  schema: schema!,
  // Long enough that an agent found under way is still under way when the test kills its worker
  // (at 150 ms a faster runtime finished them in between, now and then).
  model: { provider: 'offline', latencyMs: 400 },
  env: {},
  worker: { owner: owner!, leaseTtlMs: 1500, tickMs: 300 },
});
process.stdout.write(`ready ${owner}\n`);
setInterval(() => process.stdout.write(`hosting ${system.internal.runtime.hosted}\n`), 500);
process.on('SIGTERM', () => void system.close().then(() => process.exit(0)));
