import { Command } from 'commander';
import { createAgentSystem } from '../system.js';
import { isCadreError } from '../errors.js';

/**
 * `cadre` — one entry point. Commands are added by their modules; errors print as one line
 * plus a hint, with exit code 1 (bad input 2).
 */
const program = new Command();
program.name('cadre').description('An event-sourced actor system for autonomous AI agents.').showHelpAfterError();

program
  .command('migrate')
  .description('create or upgrade the database tables (also done on every start)')
  .action(async () => {
    const system = await createAgentSystem({ recover: false });
    console.log(`migrated (${system.store.kind}, schema ${system.schema})`);
    await system.close();
  });

program
  .command('demo')
  .description('run a small hierarchical team on the embedded store with the offline model')
  .action(async () => {
    const started = Date.now();
    const system = await createAgentSystem();
    const lead = await system.spawn({ role: 'lead', task: 'Plan and deliver a tiny feature', budget: 60_000 });
    const dev = await lead.spawn({ role: 'implementer', task: 'Write the code', budget: 20_000 });
    const qa = await lead.spawn({ role: 'tester', task: 'Write the tests', budget: 15_000 });
    const result = await lead.run();
    for (const h of [lead, dev, qa]) {
      const s = await h.state();
      console.log(`${s.role.padEnd(12)} ${s.status.padEnd(10)} consumed ${s.budget.consumed} of ${s.budget.allocated}`);
    }
    const b = await lead.getBudgetStatus();
    console.log(`\n${result.status}: ${result.output}`);
    console.log(`tokens: ${result.budgetConsumed} used, ${b.available} of ${b.allocated} left (offline model: not an LLM)`);
    console.log(`inspect: cadre history ${lead.id}`);
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await system.close();
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isCadreError(err)) {
    console.error(`cadre: ${err.message}`);
    process.exitCode = err.code === 'INVALID_INPUT' || err.code === 'CONFIG_ERROR' ? 2 : 1;
  } else {
    console.error(`cadre: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
});
