import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { CliError, EXIT, exitCodeOf, formatError } from '../../src/cli/cliError.js';
import type { CliContext } from '../../src/cli/context.js';
import { createStyle } from '../../src/cli/render/style.js';
import { InvalidGraph, InvalidInput, InvalidTransition, NotFound, BudgetExceeded, DELEGATING_TO_A_CHILD, PlanRejected, StoreUnavailable } from '../../src/errors.js';

function context(): { ctx: CliContext; out: string[] } {
  const out: string[] = [];
  const ctx: CliContext = {
    openSystem: () => Promise.reject(new Error('no system in unit tests')),
    output: { out: (t) => void out.push(t), err: (t) => void out.push(t), isTTY: false, columns: 80 },
    style: createStyle(false),
  };
  return { ctx, out };
}

const COMMANDS = ['demo', 'run', 'spawn', 'fire', 'send', 'inbox', 'tree', 'status', 'budget', 'history', 'replay', 'report', 'templates', 'workspaces', 'projections', 'migrate', 'worker', 'serve'];

describe('cadre program', () => {
  it('lists every command in --help, with examples', () => {
    const help = buildProgram(context().ctx).helpInformation();
    for (const c of COMMANDS) expect(help).toMatch(new RegExp(`\\n  ${c}\\b`));
    const { ctx } = context();
    const program = buildProgram(ctx);
    for (const c of program.commands) {
      const withSubs = c.commands.length > 0 ? c.commands : [c];
      for (const s of withSubs) {
        let text = '';
        s.configureOutput({ writeOut: (t) => void (text += t) });
        s.outputHelp();
        expect(text, `${c.name()} ${s.name()}`).toContain('Examples:');
      }
    }
  });

  it('turns usage errors into exit code 2 with a hint, without touching the system', async () => {
    const { ctx } = context();
    const err = await buildProgram(ctx).parseAsync(['node', 'cadre', 'status']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(exitCodeOf(err)).toBe(EXIT.usage);
    expect(formatError(err)).toMatch(/^cadre: missing required argument 'agent'\n {2}hint: see `cadre status --help`$/);
    const nested = await buildProgram(ctx).parseAsync(['node', 'cadre', 'projections', 'rebuild']).catch((e: unknown) => e);
    expect(formatError(nested)).toMatch(/hint: see `cadre projections rebuild --help`$/);
    const unknown = await buildProgram(ctx).parseAsync(['node', 'cadre', 'frobnicate']).catch((e: unknown) => e);
    expect(exitCodeOf(unknown)).toBe(EXIT.usage);
    const budget = await buildProgram(ctx).parseAsync(['node', 'cadre', 'spawn', '--role', 'r', '--task', 't', '--budget', 'lots']).catch((e: unknown) => e);
    expect(formatError(budget)).toMatch(/^cadre: invalid --budget "lots"/);
    // Underscores only between digits, as JS writes them.
    for (const odd of ['10_000_', '1__0', '_10']) {
      const e = await buildProgram(ctx).parseAsync(['node', 'cadre', 'spawn', '--role', 'r', '--task', 't', '--budget', odd]).catch((x: unknown) => x);
      expect(formatError(e)).toMatch(new RegExp(`^cadre: invalid --budget "${odd}": expected a whole number`));
    }
    const run = await buildProgram(ctx).parseAsync(['node', 'cadre', 'run', 'task', '--budget', '10']).catch((e: unknown) => e);
    expect(formatError(run)).toContain('exactly one of --template');
  });

  it('maps cadre errors to exit codes: not found 3, bad input 2, anything else 1', () => {
    expect(exitCodeOf(new NotFound('agent', 'x'))).toBe(3);
    expect(exitCodeOf(new InvalidInput('budget', 'must be positive'))).toBe(2);
    expect(exitCodeOf(new BudgetExceeded('a', 5, 1, 'x'))).toBe(1);
    // A child's budget over what its parent has left is the caller's number: bad input.
    expect(exitCodeOf(new BudgetExceeded('a', 5, 1, DELEGATING_TO_A_CHILD))).toBe(2);
    expect(formatError(new BudgetExceeded('a', 5, 1, DELEGATING_TO_A_CHILD))).toContain('hint: agent a has 1 tokens available: pass a smaller --budget (at most 1)');
    expect(formatError(new BudgetExceeded('a', 5, 0, DELEGATING_TO_A_CHILD))).toContain('hint: agent a has no tokens left to give');
    expect(formatError(new BudgetExceeded('a', 5, 0, DELEGATING_TO_A_CHILD))).not.toContain('at most 0');
    expect(formatError(new InvalidTransition('a', 'completed', 'spawn'))).toMatch(/^cadre: agent a has completed: it cannot spawn children\n {2}hint: an agent that has ended/);
    expect(formatError(new InvalidTransition('a', '"failed"', 'AgentTerminated'))).toContain('hint: an agent that has ended');
    // An agent still running is not told it has ended.
    const notReady = formatError(new InvalidTransition('a', '{"running":"thinking"}', 'AgentTerminated'));
    expect(notReady).toContain('hint: the agent has not ended');
    expect(notReady).not.toContain('has ended takes');
    expect(exitCodeOf(new Error('boom'))).toBe(1);
    expect(formatError(new Error('two\nlines'))).toBe('cadre: two lines');
    expect(formatError(new NotFound('agent', 'x'))).toContain('hint: list agents with `cadre tree`');
  });

  it('a store error that knows its store gives its own hint (an embedded store\'s never sends the user to DATABASE_URL)', () => {
    expect(formatError(new StoreUnavailable('the process holding the embedded store went away', { hint: 'run the command again' }))).toBe('cadre: the process holding the embedded store went away\n  hint: run the command again');
    expect(formatError(new StoreUnavailable('no answer'))).toContain('hint: is the store reachable? check DATABASE_URL');
  });

  it('a model that gives no valid plan is a failure, not bad usage: exit 1, the workflow named, no placeholder in the hint', () => {
    const err = new PlanRejected('wf-123', 2, new InvalidGraph(['plan.nodes[0].role: unknown role "wizard"']));
    expect(exitCodeOf(err)).toBe(EXIT.failure);
    expect(formatError(err)).toContain('workflow wf-123 failed (invalid_plan)');
    expect(formatError(err)).toContain('hint: the model\'s answers are in `cadre history wf-123 --json`');
    expect(formatError(new InvalidInput('budget', 'too large'))).not.toContain('<command>');
  });

  it('a bad environment variable is pointed at the environment, not at --help', () => {
    const text = formatError(new InvalidInput('WORKSPACE_REPO', '/x does not exist'));
    expect(text).toContain('hint: WORKSPACE_REPO comes from the environment (or a .env file); .env.example lists every variable');
    expect(text).not.toContain('--help');
    expect(formatError(new InvalidInput('--budget', 'too large'))).toContain('--help lists its options');
  });
});
