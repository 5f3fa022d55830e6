import type { Command } from 'commander';
import { runFacts, type RunFacts } from '../../system/compareRuns.js';
import { branchDiff } from '../branchDiff.js';
import { agentArg, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderFields } from '../render/table.js';

const line = (f: RunFacts): string => `${f.status}${f.output ? `: ${f.output}` : ''}`;
const named = (f: RunFacts): string => `${f.role} ${f.id}${f.forkedFrom ? ` (fork of ${f.forkedFrom.sourceId} at ${f.forkedFrom.sourceRevision})` : ''}`;

export function registerDiff(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .argument('<a>', 'a run: its root agent id (or a unique prefix)')
    .argument('<b>', 'the other run')
    .option('--patch', 'the whole git diff between their branches, not its --stat')
    .option('--json', 'print JSON')
    .description('compare two runs (a fork and its source, say): outcome, tokens, cost, duration, and the git diff between their branches')
    .addHelpText('after', '\nExamples:\n  cadre diff 019fd278 01a0c3e1\n  cadre diff 019fd278 01a0c3e1 --patch')
    .action(async (rawA: string, rawB: string, opts: { patch?: boolean; json?: boolean }) => {
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const [a, b] = [await agentArg(system, rawA), await agentArg(system, rawB)];
        const [fa, fb] = await Promise.all([runFacts(system, a), runFacts(system, b)]);
        const git = await branchDiff(system.workspaces.repo, a, b, !opts.patch);
        print(ctx, opts.json, { a: fa, b: fb, gitDiff: git }, () => `${renderFields([
          ['a', named(fa)],
          ['b', named(fb)],
          ['outcome', `a ${line(fa)} | b ${line(fb)}`],
          ['tokens', `a ${fa.tokens} | b ${fb.tokens} (b − a: ${fb.tokens - fa.tokens})`],
          ['cost', `a $${fa.costUsd.toFixed(4)} | b $${fb.costUsd.toFixed(4)}`],
          ['duration', `a ${(fa.durationMs / 1000).toFixed(1)}s | b ${(fb.durationMs / 1000).toFixed(1)}s`],
        ])}\n${git === null ? 'git: no agents/<id> branch for both runs in this repository' : git.trim() || 'git: the branches are the same'}`);
      });
    });
}
