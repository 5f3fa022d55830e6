import { BudgetExceeded, DELEGATING_TO_A_CHILD, InvalidInput, InvalidTransition, NotFound, PlanRejected, PlanningFailed, StoreNotFound, StoreUnavailable, UnreadableEvent, isCadreError } from '../errors.js';
import { thrownText } from '../infra/thrownText.js';

/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, interrupted: 130, terminated: 143 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error the CLI itself raises: a one-line message, a hint, and the exit code.
 *
 * @example
 * throw new CliError('no agent given', { exitCode: EXIT.usage, hint: 'cadre status <agent>' });
 */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | null;
  constructor(message: string, options: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.hint = options.hint ?? null;
  }
}

/**
 * The command was stopped by Ctrl-C (or SIGTERM) and has already said what it left: main sets
 * the exit code (130, or 143) and prints nothing more.
 */
export class Interrupted extends CliError {
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`, { exitCode: signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted });
    this.name = 'Interrupted';
  }
}

/** Where to list what was not found, by what it was. */
const NOT_FOUND_HINTS: Partial<Record<string, string>> = {
  projection: 'list projections with `cadre projections status`',
  'projection checkpoint': 'list projections with `cadre projections status`',
  'workflow template': 'list templates with `cadre templates list`',
  approval: 'list the calls waiting for an answer with `cadre approvals` (an answered call is no longer listed)',
};

/** What to do about an invalid value, by the field it names, where the generic hint says too little. */
const FIELD_HINTS: Partial<Record<string, string>> = {
  agent: 'agent ids look like 019fd278-932e-… (a unique prefix of 4 or more characters will do); list them with `cadre tree`',
};

const HINTS: Partial<Record<string, string>> = {
  NOT_FOUND: 'list agents with `cadre tree`',
  INVALID_INPUT: "the value named above is the one to fix; each command's --help lists its options",
  CONFIG_ERROR: 'check the environment (.env.example lists every variable)',
  BUDGET_EXCEEDED: 'give the agent a larger budget, or check `cadre budget <agent>`',
  NOT_SUBORDINATE: 'an agent can only fire agents below it; see `cadre tree <root>`',
  STORE_UNAVAILABLE: 'is the store reachable? check DATABASE_URL (and EVENT_STORE, when set)',
  INVALID_GRAPH: 'see `cadre templates show <id>` for a valid graph',
  INVALID_TRANSITION: 'an agent that has ended takes no more commands; `cadre status <agent>` shows its state, `cadre spawn` starts a new one',
  LEASE_HELD: 'another worker hosts this agent; try again when it ends',
  RECIPIENT_UNAVAILABLE: 'a message goes only to a live agent; `cadre status <agent>` shows how it ended, and `cadre inbox <agent> --dead` what it did not read',
  STORE_LOCKED: 'read commands (tree, status, history, budget, replay, report, inbox, trace, diff, workspaces list/diff, workspaces cleanup --dry-run) still work: they go through that process',
};

/** Where a store would be, and what makes one (a read never does). */
export const NO_STORE_HINT = 'commands that write (spawn, run, demo) create it; CADRE_DATA_DIR names the folder (default .cadre/db), or set DATABASE_URL to use a Postgres server';

const isOverDelegation = (err: unknown): err is BudgetExceeded => err instanceof BudgetExceeded && err.operation === DELEGATING_TO_A_CHILD;

/** The exit code for any error: usage 2, not found 3, everything else 1. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (isCadreError(err)) {
    if (err.code === 'NOT_FOUND') return EXIT.notFound;
    // A child's budget larger than its parent has left is the caller's number to change.
    if (isOverDelegation(err)) return EXIT.usage;
    if (err instanceof UnreadableEvent) return EXIT.failure;
    if (err.code === 'INVALID_INPUT' || err.code === 'CONFIG_ERROR' || err.code === 'INVALID_GRAPH') return EXIT.usage;
  }
  return EXIT.failure;
}

/** A user-supplied value as an error message shows it: JSON-quoted and cut to `max` characters. */
export function quoted(value: string, max = 80): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

const MAX_MESSAGE = 2000;

/** One readable line (newlines folded, at most ~2,000 characters) plus a hint line when there is one. */
export function formatError(err: unknown): string {
  const full = (err instanceof Error ? err.message : thrownText(err)).replace(/\s*\n\s*/g, ' ').trim();
  const message = full.length > MAX_MESSAGE ? `${full.slice(0, MAX_MESSAGE)}…` : full;
  let hint: string | null = null;
  if (err instanceof CliError) hint = err.hint;
  else if (err instanceof NotFound) hint = `${err.suggestion ? `did you mean ${err.suggestion}? ` : ''}${NOT_FOUND_HINTS[err.what] ?? HINTS.NOT_FOUND ?? ''}`;
  else if (err instanceof StoreUnavailable && err.hint) hint = err.hint;
  else if (err instanceof StoreNotFound) hint = NO_STORE_HINT;
  else if (err instanceof UnreadableEvent) hint = 'the value is in the store, not in what you typed: an event this cadre cannot read (written by a newer cadre, or damaged); nothing was changed. A newer cadre may read it; otherwise report it with the event named above';
  else if (err instanceof InvalidInput && FIELD_HINTS[err.field]) hint = FIELD_HINTS[err.field] ?? null;
  // A setting, not an option: "each command's --help lists its options" sent a new user looking there.
  else if (err instanceof InvalidInput && /^[A-Z][A-Z0-9_]+$/.test(err.field)) hint = `${err.field} comes from the environment (or a .env file); .env.example lists every variable`;
  else if (err instanceof InvalidTransition && !err.hasEnded) hint = `the agent has not ended but is not ready for that now; \`cadre status ${err.agentId}\` shows its state, and a command may go through once it moves on`;
  else if (isOverDelegation(err)) hint = err.available >= 1
    ? `agent ${err.agentId} has ${err.available} tokens available: pass a smaller --budget (at most ${err.available})`
    // --budget is at least 1: "at most 0" would be advice nobody can take.
    : `agent ${err.agentId} has no tokens left to give: spawn under another agent (see cadre budget ${err.agentId})`;
  else if (err instanceof PlanningFailed) hint = `\`cadre history ${err.workflowId}\` shows the planning call and what it was charged; try again, or run a template with --template`;
  else if (err instanceof PlanRejected) hint = `the model's answers are in \`cadre history ${err.workflowId} --json\` (the table shows only why each was refused); try again, or run a template with --template`;
  else if (isCadreError(err)) hint = HINTS[err.code] ?? null;
  return `cadre: ${message}${hint ? `\n  hint: ${hint}` : ''}`;
}
