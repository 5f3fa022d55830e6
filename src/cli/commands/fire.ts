import type { Command } from 'commander';
import { agentArg, print, withSystem, type CliContext } from '../context.js';

export function registerFire(program: Command, ctx: CliContext): void {
  program
    .command('fire')
    .argument('<agent>', 'the agent to terminate, with its whole subtree')
    .option('--by <parent>', 'fire as this ancestor (refused unless <agent> is below it)')
    .option('--reason <text>', 'recorded in AgentTerminated', 'fired from the command line')
    .option('--json', 'print JSON')
    .description("terminate an agent and its subtree; unspent budget returns to its parent")
    .addHelpText('after', '\nExamples:\n  cadre fire 01a2b3c4\n  cadre fire 01a2b3c4 --by 019fd278 --reason "no longer needed"')
    .action(async (agent: string, opts: { by?: string; reason: string; json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
        const id = await agentArg(system, agent);
        if (opts.by !== undefined) await system.internal.runtime.fire(await agentArg(system, opts.by), id, opts.reason);
        else await system.terminate(id, opts.reason);
        const s = await system.internal.runtime.state(id);
        print(ctx, opts.json, { agentId: id, status: s.status, returned: s.budget.available }, () => `${s.role} ${id} is ${s.status}`);
      });
    });
}
