import type { Command } from 'commander';
import { agentArg, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderWaterfall } from '../render/traceWaterfall.js';
import { readTrace } from '../../telemetry/readTrace.js';

export function registerTrace(program: Command, ctx: CliContext): void {
  program
    .command('trace')
    .argument('<agent>', 'the run to show: its root agent id (or a unique prefix), or any agent for its subtree')
    .description("show a run as a waterfall: each agent's life and its model and tool calls over time, with tokens and cost")
    .option('--json', 'print the spans as JSON (the dashboard\'s /api/trace shape)')
    .addHelpText('after', '\nExamples:\n  cadre trace 019fd278\n  cadre trace 019fd278 --json\n\nSpans follow the OpenTelemetry GenAI conventions (docs/tracing.md).')
    .action(async (agent: string, opts: { json?: boolean }) => {
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const trace = await readTrace(system, await agentArg(system, agent));
        print(ctx, opts.json, trace, () => renderWaterfall(trace.spans, { columns: ctx.output.columns, now: Date.now(), style: ctx.style }));
      });
    });
}
