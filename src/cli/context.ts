import type { AgentSystem, AgentSystemOptions } from '../system.js';
import { resolveAgentId } from '../dashboard/agentTree.js';
import { WRITTEN_COUNT } from '../infra/writtenCount.js';
import { CliError, EXIT, Interrupted, quoted } from './cliError.js';
import { closeSystem } from './closeSystem.js';
import { processOutput, toJson, type Output } from './output.js';
import { createStyle, type Style } from './render/style.js';

/**
 * What every command gets: how to open the system, where to print, and the style to print in.
 * Tests replace `openSystem` and `output`.
 */
export interface CliContext {
  openSystem(options?: { recover?: boolean } & AgentSystemOptions): Promise<AgentSystem>;
  readonly output: Output;
  readonly style: Style;
}

export function defaultContext(output: Output = processOutput): CliContext {
  return {
    // Loaded when a command opens the system, not at start: the system pulls in the store
    // adapters, the SDK and the model, which --help, --version and usage errors never need.
    openSystem: async (options = {}) => {
      // A read opens the embedded store (PGlite, WebAssembly) for a moment: V8's baseline
      // compiler alone spends about a third less CPU than baseline plus the optimising tier-up,
      // whose work a short read never lives to use. Process-wide, and set before PGlite is
      // compiled, so only for a command that only reads (never `serve`, `run` or a worker).
      if (options.readOnly) {
        (await import('node:v8')).setFlagsFromString('--liftoff-only');
        // zod compiles a parser per object schema (`new Function`) on its first parse, which
        // pays only over many parses: a read parses each schema a few times. Read when each
        // schema is built, so set before the system's modules load.
        (await import('zod')).config({ jitless: true });
      }
      return (await import('../system.js')).createAgentSystem(options);
    },
    output,
    style: createStyle(output.isTTY && !process.env.NO_COLOR),
  };
}

/**
 * How commands that only read agents' streams (tree, status, budget, history, replay) open the
 * system: no recovery, no hosting, no projection runner or message delivery started. They read
 * streams and the actor index, which writers keep current; the projection runner and the
 * delivery were start-up time (most of it on the embedded store) for nothing they show.
 */
export const READ_STREAMS = { recover: false, readOnly: true, runProjections: false, runMessaging: false } as const;

/**
 * Opens the system, runs `fn`, closes it (also on error). Read commands open it with
 * `recover: false`, so looking at agents never resumes their work.
 */
export async function withSystem<T>(ctx: CliContext, options: { recover?: boolean } & AgentSystemOptions, fn: (system: AgentSystem) => Promise<T>): Promise<T> {
  const system = await ctx.openSystem(options);
  let interrupted = false;
  try {
    return await fn(system);
  } catch (err) {
    interrupted = err instanceof Interrupted;
    throw err;
  } finally {
    await closeSystem(system, ctx.output, interrupted);
  }
}

/** Prints `value` as JSON when `--json` was given, else the human text `render()` builds. */
export function print(ctx: CliContext, json: boolean | undefined, value: unknown, render: () => string): void {
  ctx.output.out(json ? toJson(value) : render());
}

/**
 * A whole-number option in [min, max], or a usage error naming the option and the bound it broke:
 * `--budget 99999999999999999999` said "expected a whole number" (it is one, only too large).
 *
 * @example
 * parseCount('10_000', '--budget', { min: 1 }) // 10000
 * parseCount('1e30', '--budget')               // CliError: invalid --budget "1e30": too large, at most 9007199254740991
 */
export function parseCount(value: string, name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): number {
  const usage = (why: string): CliError => new CliError(`invalid ${name} ${quoted(value)}: ${why}`, { exitCode: EXIT.usage, hint: `for example ${name} ${Math.min(max, Math.max(min, 10000))}` });
  if (WRITTEN_COUNT.test(value)) {
    const digits = BigInt(value.replace(/_/g, '')); // exact, however long: Number() rounds past 2^53
    if (digits > BigInt(max)) throw usage(`too large, at most ${max}`);
    if (digits < BigInt(min)) throw usage(`too small, at least ${min}`);
    return Number(digits);
  }
  // 1e30 is a number, only not one this option takes: say which way it is out.
  const n = Number(value.trim());
  if (/^[0-9.]+e\+?[0-9]+$/i.test(value.trim()) && Number.isFinite(n) && n > max) throw usage(`too large, at most ${max}`);
  throw usage(`expected a whole number written in digits, ${min} to ${max}`);
}

/** An agent id (or a unique prefix of one) as given on the command line. */
export async function agentArg(system: AgentSystem, raw: string): Promise<string> {
  const id = raw.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(id)) {
    throw new CliError(`invalid agent id ${quoted(raw)}`, { exitCode: EXIT.usage, hint: 'agent ids look like 019fd278-932e-…; list them with `cadre tree`' });
  }
  return resolveAgentId(system, id);
}

/** Parses a JSON argument, or a usage error that says where it broke. */
export function parseJsonArg(raw: string, name: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new CliError(`invalid ${name}: not JSON (${err instanceof Error ? err.message : String(err)})`, { exitCode: EXIT.usage, hint: `quote it for the shell, e.g. '{"text":"hello"}'` });
  }
}
