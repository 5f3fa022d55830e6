import type { Command } from 'commander';
import { agentArg, parseCount, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';
import { CliError, EXIT, quoted } from '../cliError.js';
import { nearestName } from '../../nearestName.js';

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
      await withSystem(ctx, READ_STREAMS, async (system) => {
        // Loaded here, not at start: the catalogue brings every event schema (zod).
        const [{ isEventType, eventSchemas }, { timelineEntry }] = await Promise.all([import('../../events/catalogue.js'), import('../../dashboard/timeline.js')]);
        const id = await agentArg(system, agent);
        let events = await system.history(id);
        const types = opts.type;
        if (types) {
          // A misspelt type is a typo to name, not an empty history to show.
          const unknown = types.filter((t) => !isEventType(t));
          if (unknown.length > 0) {
            const guesses = unknown.map((t) => nearestName(t, Object.keys(eventSchemas))).filter((g) => g !== undefined);
            const guess = guesses.length > 0 ? `did you mean ${guesses.join(', ')}? ` : '';
            throw new CliError(`unknown event type ${unknown.map((t) => quoted(t)).join(', ')}`, { exitCode: EXIT.usage, hint: `${guess}the types are listed in docs/events.md (e.g. ModelReplied, ToolCalled)` });
          }
          events = events.filter((e) => types.includes(e.type));
        }
        if (limit !== null) events = events.slice(-limit);
        print(ctx, opts.json, events, () => events.length === 0 ? `no ${types ? `${types.join(' or ')} ` : ''}events` : renderTable(events.map(timelineEntry), [
          { header: 'REV', value: (e) => e.revision, align: 'right' },
          { header: 'AT', value: (e) => e.at.slice(11, 23) },
          { header: 'TYPE', value: (e) => e.type },
          { header: 'WHAT', value: (e) => (e.summary.length > 110 ? `${e.summary.slice(0, 109)}…` : e.summary) },
        ]));
      });
    });
}
