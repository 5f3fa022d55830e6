import type { Command } from 'commander';
import { timelineEntry } from '../../dashboard/timeline.js';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';

export function registerHistory(program: Command, ctx: CliContext): void {
  program
    .command('history')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .description("print an agent's recorded events, oldest first: its full audit trail")
    .option('--type <type...>', 'only these event types (e.g. ModelReplied ToolCalled)')
    .option('--limit <n>', 'only the last n events')
    .option('--json', 'print the events as JSON (type, data, metadata, revision, position)')
    .addHelpText('after', '\nExamples:\n  cadre history 019fd278\n  cadre history 019fd278 --type ModelReplied ToolCalled\n  cadre history 019fd278 --json | jq \'.[].type\'')
    .action(async (agent: string, opts: { type?: string[]; limit?: string; json?: boolean }) => {
      const limit = opts.limit === undefined ? null : parseCount(opts.limit, '--limit', { min: 1 });
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const id = await agentArg(system, agent);
        let events = await system.history(id);
        if (opts.type) events = events.filter((e) => opts.type!.includes(e.type));
        if (limit !== null) events = events.slice(-limit);
        print(ctx, opts.json, events, () => renderTable(events.map(timelineEntry), [
          { header: 'REV', value: (e) => e.revision, align: 'right' },
          { header: 'AT', value: (e) => e.at.slice(11, 23) },
          { header: 'TYPE', value: (e) => e.type },
          { header: 'WHAT', value: (e) => (e.summary.length > 110 ? `${e.summary.slice(0, 109)}…` : e.summary) },
        ]));
      });
    });
}
