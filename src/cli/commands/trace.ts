import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT } from '../cliError.js';
import { agentArg, print, READ_STREAMS, withSystem, type CliContext } from '../context.js';
import { renderWaterfall } from '../render/traceWaterfall.js';
import { readTrace } from '../../telemetry/readTrace.js';
import type { Trace } from '../../telemetry/traceSpan.js';
import type { OtlpSettings } from '../../telemetry/otlp/otlpSettings.js';

interface TraceOptions {
  readonly json?: boolean;
  readonly export?: boolean;
  readonly endpoint?: string;
  readonly protocol?: string;
  readonly otlpJson?: string;
}

export function registerTrace(program: Command, ctx: CliContext): void {
  program
    .command('trace')
    .argument('<agent>', 'the run to show: its root agent id (or a unique prefix), or any agent for its subtree')
    .description("show a run as a waterfall: each agent's life and its model and tool calls over time, with tokens and cost")
    .option('--json', 'print the spans as JSON (the dashboard\'s /api/trace shape)')
    .option('--export', 'send the ended spans over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (or --endpoint)')
    .option('--endpoint <url>', 'with --export: the full traces URL, e.g. http://localhost:4318/v1/traces')
    .option('--protocol <protocol>', 'with --endpoint: http/protobuf (default) or http/json')
    .option('--otlp-json <file>', 'write the ended spans as an OTLP/JSON export request to <file> (- for standard output)')
    .addHelpText('after', '\nExamples:\n  cadre trace 019fd278\n  cadre trace 019fd278 --json\n  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cadre trace 019fd278 --export\n  cadre trace 019fd278 --otlp-json run.json\n\nSpans follow the OpenTelemetry GenAI conventions (docs/tracing.md).')
    .action(async (agent: string, opts: TraceOptions) => {
      const settings = opts.export ? await exportSettings(opts) : null;
      if (!opts.export && (opts.endpoint !== undefined || opts.protocol !== undefined)) throw new CliError('--endpoint and --protocol go with --export', { exitCode: EXIT.usage });
      await withSystem(ctx, READ_STREAMS, async (system) => {
        const trace = await readTrace(system, await agentArg(system, agent));
        if (opts.otlpJson !== undefined) await writeOtlpJson(ctx, trace, opts.otlpJson, settings?.serviceName ?? 'cadre');
        if (settings) await sendTrace(ctx, trace, settings);
        if (opts.otlpJson === undefined && !settings) print(ctx, opts.json, trace, () => renderWaterfall(trace.spans, { columns: ctx.output.columns, now: Date.now(), style: ctx.style }));
      });
    });
}

/** --endpoint (with --protocol), else the standard variables; neither is a usage error that says what to set. */
async function exportSettings(opts: TraceOptions): Promise<OtlpSettings> {
  const [{ OtlpSettingsSchema, otlpEnv, otlpInput }, { readEnv }, { parseInput }] = await Promise.all([import('../../telemetry/otlp/otlpSettings.js'), import('../../infra/config.js'), import('../../validation.js')]);
  const env = otlpEnv(readEnv());
  if (opts.endpoint === undefined) {
    if (opts.protocol !== undefined) throw new CliError('--protocol goes with --endpoint (otherwise OTEL_EXPORTER_OTLP_PROTOCOL says it)', { exitCode: EXIT.usage });
    if (env.url !== null && env.off) throw new CliError('export is turned off by OTEL_TRACES_EXPORTER=none', { exitCode: EXIT.usage, hint: 'unset OTEL_TRACES_EXPORTER, or give --endpoint to send anyway' });
    if (env.url === null) throw new CliError('--export needs somewhere to send the spans', { exitCode: EXIT.usage, hint: 'set OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318, or give --endpoint http://localhost:4318/v1/traces' });
    return OtlpSettingsSchema.parse(otlpInput(env, env.url));
  }
  // The variables still give the headers, service name and timeout (and the protocol, unless --protocol does).
  try {
    return parseInput(OtlpSettingsSchema, otlpInput(env, opts.endpoint, opts.protocol), 'trace');
  } catch (err) {
    const option = /trace\.protocol/.test(String((err as Error).message)) ? '--protocol' : '--endpoint';
    throw new CliError(`invalid ${option}: ${(err as Error).message.replace(/^invalid trace\.\w+: /, '')}`, { exitCode: EXIT.usage, cause: err });
  }
}

/** Spans can be sent only once they ended: the rest are counted, not sent. */
function ended(trace: Trace): { done: Trace['spans']; running: number } {
  const done = trace.spans.filter((s) => s.endMs !== undefined);
  return { done, running: trace.spans.length - done.length };
}

const stillRunning = (n: number): string => (n === 0 ? '' : `; ${n} still running ${n === 1 ? 'was' : 'were'} left out (they are sent once they end)`);

async function sendTrace(ctx: CliContext, trace: Trace, settings: OtlpSettings): Promise<void> {
  const { done, running } = ended(trace);
  const { openSpanSender, SpanSendError } = await import('../../telemetry/otlp/spanExporter.js');
  const sender = await openSpanSender(settings);
  try {
    await sender.send(done);
  } catch (err) {
    const answered = err instanceof SpanSendError && err.status !== null;
    throw new CliError((err as Error).message.replace(settings.url, displayUrl(settings.url)), {
      hint: answered ? 'the receiver answered but refused the spans: check the path (/v1/traces), the protocol and the headers it expects' : 'is an OpenTelemetry Collector (or Jaeger, Tempo…) listening there for OTLP/HTTP?',
    });
  } finally {
    await sender.close().catch(() => {});
  }
  ctx.output.err(`sent ${done.length} span${done.length === 1 ? '' : 's'} of trace ${done[0]?.traceId ?? '-'} to ${displayUrl(settings.url)} (${settings.protocol})${stillRunning(running)}`);
}

async function writeOtlpJson(ctx: CliContext, trace: Trace, file: string, serviceName: string): Promise<void> {
  const { done, running } = ended(trace);
  const { otlpJson } = await import('../../telemetry/otlp/otlpJson.js');
  const text = otlpJson(done, serviceName);
  if (file === '-') ctx.output.out(text);
  else writeFileSync(file, `${text}\n`);
  ctx.output.err(`wrote ${done.length} span${done.length === 1 ? '' : 's'} of trace ${done[0]?.traceId ?? '-'} to ${file === '-' ? 'standard output' : file}${stillRunning(running)}`);
}

/** The URL without its user and password, for messages. */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}
