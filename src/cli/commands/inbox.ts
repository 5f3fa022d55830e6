import type { Command } from 'commander';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { NotAvailable } from '../cliError.js';
import { requireExtension } from '../extensions.js';
import { renderInbox, type InboxMessage } from '../render/inboxTable.js';

export function registerInbox(program: Command, ctx: CliContext): void {
  program
    .command('inbox')
    .argument('<agent>', 'recipient agent id')
    .option('--limit <n>', 'at most n messages', '20')
    .option('--claim', 'take them: received (recorded as MessageReceived) and acknowledged, so they leave the inbox')
    .option('--json', 'print JSON')
    .description("show an agent's pending messages, highest priority first")
    .addHelpText('after', '\nExamples:\n  cadre inbox 01a2b3c4\n  cadre inbox 01a2b3c4 --claim --json')
    .action(async (agent: string, opts: { limit: string; claim?: boolean; json?: boolean }) => {
      const limit = parseCount(opts.limit, '--limit', { min: 1, max: 1000 }); // the API's bound (messaging peek and receive)
      await withSystem(ctx, { recover: false, readOnly: !opts.claim }, async (system) => {
        const messaging = requireExtension(system, 'messaging');
        const id = await agentArg(system, agent);
        let messages: unknown[];
        // Looking never claims: a look that received would record MessageReceived, use up a
        // delivery attempt and, after a few looks, dead-letter the messages.
        if (!opts.claim) {
          if (!messaging.peek) throw new NotAvailable('looking at an inbox', 'messaging.peek');
          messages = await messaging.peek(id, { limit });
        } else if (messaging.receive) messages = await messaging.receive(id, { max: limit, ack: true }); // a claim that never acked came back, used up its deliveries and was dead-lettered
        else throw new NotAvailable('claiming messages', 'messaging.receive');
        print(ctx, opts.json, messages, () => renderInbox(messages as InboxMessage[], { claimed: Boolean(opts.claim) }));
      });
    });
}
