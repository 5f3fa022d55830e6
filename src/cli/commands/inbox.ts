import type { Command } from 'commander';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { renderInbox } from '../render/inboxTable.js';

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
        const id = await agentArg(system, agent);
        // Looking never claims: a look that received would record MessageReceived, use up a
        // delivery attempt and, after a few looks, dead-letter the messages. A claim acks at once:
        // one that never acked came back, used up its deliveries and was dead-lettered.
        const messages = opts.claim ? await system.messaging.receive(id, { max: limit, ack: true }) : await system.messaging.peek(id, { limit });
        print(ctx, opts.json, messages, () => renderInbox(messages, { claimed: Boolean(opts.claim) }));
      });
    });
}
