import type { Command } from 'commander';
import { CliError, EXIT, quoted } from '../cliError.js';
import { agentArg, parseJsonArg, print, withSystem, type CliContext } from '../context.js';
import { DEFAULT_PRIORITY } from '../../messaging/priority.js';

export function registerSend(program: Command, ctx: CliContext): void {
  program
    .command('send')
    .argument('<from>', 'sender agent id')
    .argument('<to>', 'recipient agent id')
    .argument('<json>', 'the payload, as JSON')
    .option('--priority <0-9>', `higher is delivered first (default ${DEFAULT_PRIORITY}, as in the API)`)
    .option('--json', 'print JSON')
    .description('send a durable message from one agent to another')
    .addHelpText('after', `\nExamples:\n  cadre send 019fd278 01a2b3c4 '{"text":"please review"}' --priority 5`)
    .action(async (from: string, to: string, raw: string, opts: { priority?: string; json?: boolean }) => {
      const payload = parseJsonArg(raw, '<json>');
      if (opts.priority !== undefined && !/^[0-9]$/.test(opts.priority)) throw new CliError(`invalid --priority ${quoted(opts.priority)}: expected 0 to 9`, { exitCode: EXIT.usage, hint: '--priority 5' });
      const priority = opts.priority === undefined ? DEFAULT_PRIORITY : Number(opts.priority);
      await withSystem(ctx, { recover: false }, async (system) => {
        const r = await system.messaging.send(await agentArg(system, from), await agentArg(system, to), payload, { priority });
        print(ctx, opts.json, { ...r, priority }, () => `sent message ${r.messageId} (priority ${priority})`);
      });
    });
}
