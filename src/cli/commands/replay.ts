import type { Command } from 'commander';
import { agentArg, parseCount, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderFields } from '../render/table.js';
import { CliError, EXIT } from '../cliError.js';
import { InvalidInput } from '../../errors.js';
import { conservationLine, returnedToParent } from '../render/conservationLine.js';

export function registerReplay(program: Command, ctx: CliContext): void {
  program
    .command('replay')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--to <revision>', 'the revision to stop at (0 is the spawn; default: the latest, its state now)')
    .description("rebuild an agent's state as it was at a revision (pure replay, no model calls); without --to, as it is now")
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre replay 019fd278          # its state now, rebuilt from every event\n  cadre replay 019fd278 --to 3\n  cadre replay 019fd278 --to 0 --json')
    .action(async (agent: string, opts: { to?: string; json?: boolean }) => {
      const to = opts.to === undefined ? undefined : parseCount(opts.to, '--to');
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const id = await agentArg(system, agent);
        const s = await system.replay(id, to === undefined ? {} : { toRevision: to }).catch((err: unknown) => {
          // The user typed --to, not the API's toRevision: name what they typed.
          if (err instanceof InvalidInput && err.field === 'toRevision') {
            throw new CliError(`invalid --to ${to}: ${err.reason}`, { exitCode: EXIT.usage, hint: `revision 0 is the spawn; \`cadre history ${agent}\` lists the revisions`, cause: err });
          }
          throw err;
        });
        print(ctx, opts.json, s, () => renderFields([
          ['agent', `${s.role} ${s.id}`],
          ['at revision', s.revision],
          ['status', ctx.style.status(s.status)],
          ['turn', s.turn],
          // The arithmetic that holds (spent by subtree and overspent included), as `cadre budget` prints it.
          ['budget', conservationLine(s.budget, { returnedToParent: returnedToParent(s) })],
          ['cost', `$${s.costUsd.toFixed(4)}`],
          ['children', s.children.map((c) => `${c.role}:${c.status}`).join(', ') || null],
          ['result', s.result ? `${s.result.status}: ${s.result.output ?? s.result.reason ?? ''}` : null],
        ]));
      });
    });
}
