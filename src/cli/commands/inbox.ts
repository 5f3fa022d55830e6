import type { Command } from 'commander';
import { agentArg, parseCount, print, withSystem, type CliContext } from '../context.js';
import { InvalidInput } from '../../errors.js';
import { renderDeadLetters, renderInbox } from '../render/inboxTable.js';

export function registerInbox(program: Command, ctx: CliContext): void {
  program
    .command('inbox')
    .argument('<agent>', 'recipient agent id')
    .option('--limit <n>', 'at most n messages', '20')
    .option('--claim', 'take them: received (recorded as MessageReceived) and acknowledged, so they leave the inbox')
    .option('--dead', 'show its dead letters instead: messages that will not be delivered, and why')
    .option('--json', 'print JSON')
    .description("show an agent's pending messages, highest priority first")
    .addHelpText('after', '\nExamples:\n  cadre inbox 01a2b3c4\n  cadre inbox 01a2b3c4 --claim --json\n  cadre inbox 01a2b3c4 --dead')
    .action(async (agent: string, opts: { limit: string; claim?: boolean; dead?: boolean; json?: boolean }) => {
      const limit = parseCount(opts.limit, '--limit', { min: 1, max: 1000 }); // the API's bound (messaging peek and receive)
      if (opts.claim && opts.dead) throw new InvalidInput('--dead', 'dead letters cannot be claimed: give --claim or --dead, not both');
      // Listing dead letters first dead-letters what an ended recipient left pending: a write.
      await withSystem(ctx, { recover: false, readOnly: !opts.claim && !opts.dead }, async (system) => {
        const id = await agentArg(system, agent);
        if (opts.dead) {
          // A message sent to an agent that then ended showed nowhere in the CLI (a new user's try).
          const dead = await system.messaging.deadLetters({ recipient: id, limit });
          print(ctx, opts.json, dead, () => renderDeadLetters(dead));
          return;
        }
        // Looking never claims: a look that received would record MessageReceived, use up a
        // delivery attempt and, after a few looks, dead-letter the messages. A claim acks at once:
        // one that never acked came back, used up its deliveries and was dead-lettered.
        const messages = opts.claim ? await system.messaging.receive(id, { max: limit, ack: true }) : await system.messaging.peek(id, { limit });
        print(ctx, opts.json, messages, () => renderInbox(messages, { claimed: Boolean(opts.claim) }));
      });
    });
}
