import type { Command } from 'commander';
import { CliError, EXIT } from '../cliError.js';
import { InvalidInput, NotFound } from '../../errors.js';
import type { HistoryEvent } from '../../events/historyEvent.js';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { caughtUpOrWarn } from '../caughtUpOrWarn.js';
import { noStoreYet } from '../noStoreYet.js';
import { renderTable } from '../render/table.js';
import { shortLine } from '../render/shortLine.js';

/** `cadre approvals`, `cadre approve` and `cadre deny`: the tool calls waiting for a person. */
export function registerApprovals(program: Command, ctx: CliContext): void {
  program
    .command('approvals')
    .argument('[root]', 'only this tree')
    .option('--limit <n>', 'at most n calls', '100')
    .option('--json', 'print JSON')
    .description('list tool calls waiting for approval, oldest first')
    .addHelpText('after', '\nExamples:\n  cadre approvals\n  cadre approvals 019fd278 --json\n\nAnswer one with `cadre approve <agent> <call>` or `cadre deny <agent> <call> --reason "…"`.')
    .action(async (rootArg: string | undefined, opts: { limit: string; json?: boolean }) => {
      const limit = parseCount(opts.limit, '--limit', { min: 1, max: 1000 });
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const root = rootArg !== undefined ? await agentArg(system, rootArg) : undefined;
        await caughtUpOrWarn(ctx, system.reports);
        const rows = await system.reports.approvals({ limit, ...(root ? { rootId: root } : {}) });
        print(ctx, opts.json, rows, () =>
          rows.length === 0
            ? 'no tool calls wait for approval'
            : renderTable(rows, [
                { header: 'AGENT', value: (r) => r.agentId },
                { header: 'ROLE', value: (r) => r.role ?? '' },
                { header: 'CALL', value: (r) => r.callId },
                { header: 'TOOL', value: (r) => r.tool },
                { header: 'INPUT', value: (r) => shortLine(JSON.stringify(r.input) ?? '', 60) },
                { header: 'WAITING SINCE', value: (r) => r.requestedAt },
              ]),
        );
      }).catch(rootArg === undefined ? noStoreYet(ctx, opts.json, [], 'no tool calls wait for approval') : (err: unknown) => Promise.reject(err));
    });

  for (const verb of ['approve', 'deny'] as const) {
    const command = program
      .command(verb)
      .argument('<agent>', 'the agent whose call waits (id or unique prefix)')
      .argument('<call>', 'the call id `cadre approvals` shows (toolu_…)')
      .option('--by <name>', 'who answers, recorded with the answer')
      .option('--json', 'print JSON');
    if (verb === 'deny') command.option('--reason <text>', 'what the model reads as the call\'s result', 'no reason given');
    command
      .description(verb === 'approve' ? 'approve a tool call waiting for approval: it runs where the agent is hosted' : "deny a tool call waiting for approval: the model reads the reason as the call's result")
      .addHelpText('after', verb === 'approve' ? '\nExamples:\n  cadre approve 019fd278 toolu_01A --by alice' : '\nExamples:\n  cadre deny 019fd278 toolu_01A --reason "not this month"')
      .action(async (agent: string, callId: string, opts: { by?: string; reason?: string; json?: boolean }) => {
        await withSystem(ctx, { recover: false }, async (system) => {
          const id = await agentArg(system, agent);
          const handle = system.get(id);
          const by = opts.by ? { by: opts.by } : {};
          try {
            if (verb === 'approve') await handle.approve(callId, by);
            else await handle.deny(callId, opts.reason ?? 'no reason given', by);
          } catch (err) {
            // Answered already (another `cadre approve` won the race) or its agent ended: not a
            // value to fix (it printed "the value named above is the one to fix", exit 2, to the
            // loser of a race; a trial's). Say who answered, if anyone did.
            const closed = err instanceof InvalidInput && err.field === 'callId' ? err : null;
            if (!closed && !(err instanceof NotFound && err.what === 'approval')) throw err;
            const answer = (await handle.history()).find((e): e is Extract<HistoryEvent, { type: 'ApprovalGranted' | 'ApprovalDenied' }> => (e.type === 'ApprovalGranted' || e.type === 'ApprovalDenied') && e.data.callId === callId);
            // Not found, and never asked: the call id is wrong (exit 3, as before). Answered and
            // gone from the waiting calls since (its agent moved on): who answered, exit 1.
            if (!closed && !answer) throw err;
            const how = answer ? `${answer.type === 'ApprovalGranted' ? 'approved' : 'denied'}${answer.data.by ? ` by ${answer.data.by}` : ''} at ${answer.metadata.at}` : '';
            const message = closed ? `${closed.reason}${how ? `; it was ${how}` : ''}` : `${callId} was answered already: ${how}`;
            throw new CliError(message, { exitCode: EXIT.failure, hint: `\`cadre history ${id}\` shows the answer and what followed`, cause: err });
          }
          const s = await handle.state();
          const answered = verb === 'approve' ? 'approved' : 'denied';
          print(ctx, opts.json, { agentId: id, callId, answer: answered, status: s.status, stillWaiting: s.pendingApprovals.map((a) => a.callId) }, () =>
            `${callId} ${answered}; ${s.role} ${id} is ${s.status}${s.pendingApprovals.length > 0 ? ` (${s.pendingApprovals.length} more call${s.pendingApprovals.length > 1 ? 's' : ''} waiting)` : ''}`,
          );
        });
      });
  }
}

