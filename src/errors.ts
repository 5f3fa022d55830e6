/**
 * cadre's one error family. Every error has a literal `code`, a stable `name`,
 * an optional `cause`, and says whether retrying the same call could succeed.
 * This module imports nothing so that any layer can use it without cycles.
 */
export type CadreErrorCode =
  | 'WRONG_EXPECTED_REVISION'
  | 'IDEMPOTENCY_CONFLICT'
  | 'STORE_CLOSED'
  | 'STORE_UNAVAILABLE'
  | 'INVALID_INPUT'
  | 'PLAN_REJECTED'
  | 'PLANNING_FAILED'
  | 'NOT_FOUND'
  | 'BUDGET_EXCEEDED'
  | 'INVALID_TRANSITION'
  | 'NOT_SUBORDINATE'
  | 'INBOX_FULL'
  | 'MESSAGE_TOO_LARGE'
  | 'RECIPIENT_UNAVAILABLE'
  | 'WORKSPACE_ERROR'
  | 'PATH_OUTSIDE_WORKSPACE'
  | 'MERGE_CONFLICT'
  | 'MODEL_ERROR'
  | 'ABORTED'
  | 'TIMEOUT'
  | 'INVALID_GRAPH'
  | 'CONFIG_ERROR'
  | 'LEASE_HELD'
  | 'STORE_LOCKED'
  | 'MCP_SERVER_FAILED';

export interface CadreErrorOptions {
  readonly cause?: unknown;
  readonly retryable?: boolean;
}

/** Base class: catch `CadreError` to handle anything cadre raises on purpose. */
export class CadreError extends Error {
  readonly code: CadreErrorCode;
  readonly retryable: boolean;

  constructor(code: CadreErrorCode, message: string, options: CadreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.name = new.target.name;
  }
}

/** Optimistic concurrency: the stream is not at the revision the writer expected. */
export class WrongExpectedRevision extends CadreError {
  constructor(
    readonly streamId: string,
    readonly expected: string,
    readonly actual: bigint | 'no_stream',
    options: CadreErrorOptions = {},
  ) {
    super(
      'WRONG_EXPECTED_REVISION',
      `stream ${streamId}: expected revision ${expected}, actual ${String(actual)}`,
      { retryable: true, ...options },
    );
  }
}

/** The same event id was appended before with different content or to another place. */
export class IdempotencyConflict extends CadreError {
  constructor(readonly streamId: string, readonly eventId: string) {
    super('IDEMPOTENCY_CONFLICT', `event ${eventId} was already appended elsewhere than stream ${streamId} at the expected revision`);
  }
}

/** Input that failed validation; `field` names the offending path, e.g. `budget` or `graph.nodes[2].id`. */
export class InvalidInput extends CadreError {
  constructor(readonly field: string, readonly reason: string, options: CadreErrorOptions = {}) {
    super('INVALID_INPUT', `invalid ${field}: ${reason}`, options);
  }
}

/**
 * A stored event this version of cadre cannot read: written by a newer version, damaged, or not
 * cadre's. Still an InvalidInput (the projections and the EventStoreDB mapping skip such events
 * by that class), but the value to fix is in the store, not in what the user typed.
 */
export class UnreadableEvent extends InvalidInput {
  constructor(readonly event: string, field: string, reason: string) {
    super(field, reason);
    this.message = `stored event ${event} cannot be read: ${field}: ${reason}`;
  }
}

export class NotFound extends CadreError {
  /** `suggestion`: the nearest known id when `id` looks like a typo of it (a "did you mean" hint). */
  constructor(readonly what: string, readonly id: string, readonly suggestion?: string) {
    super('NOT_FOUND', `${what} ${id} not found`);
  }
}

/** A read found no store: the embedded store's folder holds none yet, and reading never creates one. */
export class StoreNotFound extends CadreError {
  constructor(readonly folder: string) {
    super('NOT_FOUND', `no cadre store in ${folder} yet`);
  }
}

export class StoreClosed extends CadreError {
  constructor() {
    super('STORE_CLOSED', 'the event store is closed');
  }
}

export class StoreUnavailable extends CadreError {
  /** What to check, when the thrower knows which store it is (the CLI prints it as the hint). */
  readonly hint: string | undefined;
  constructor(message: string, options: CadreErrorOptions & { readonly hint?: string } = {}) {
    const { hint, ...rest } = options;
    super('STORE_UNAVAILABLE', message, { retryable: true, ...rest });
    this.hint = hint;
  }
}

/** `BudgetExceeded.operation` for a spawn that asked its parent for more than it has: the caller's input. */
export const DELEGATING_TO_A_CHILD = 'delegating to a child';

/** A budget operation was refused; the numbers say why. */
export class BudgetExceeded extends CadreError {
  constructor(
    readonly agentId: string,
    readonly requested: number,
    readonly available: number,
    readonly operation: string,
  ) {
    super('BUDGET_EXCEEDED', `agent ${agentId}: ${operation} needs ${requested} tokens but only ${available} are available`);
  }
}

/** What a refused command would have done, in the words a user reads (`cannot <this>`). */
const REFUSED_COMMAND: Partial<Record<string, string>> = {
  sendMessage: 'send messages',
  spawn: 'spawn children',
};

// `timedOut`: past its deadline, ending (deadline.ts), its last children perhaps still being ended.
const ENDED_STATE: Partial<Record<string, string>> = { completed: 'has completed', failed: 'has failed', terminated: 'was terminated', timedOut: 'has timed out' };

/**
 * The agent's state does not allow the command, e.g. a completed agent asked to spawn. The message
 * names the state and the refused action in user words; `state` and `command` keep the internal names.
 */
export class InvalidTransition extends CadreError {
  /** Whether the agent has ended (so no command will ever be accepted), or is only not ready for this one. */
  readonly hasEnded: boolean;
  constructor(readonly agentId: string, readonly state: string, readonly command: string) {
    // `state` is a status ('completed') or a machine value as JSON ('"completed"').
    const ended = ENDED_STATE[state.replace(/^"|"$/g, '')];
    const action = REFUSED_COMMAND[command];
    super(
      'INVALID_TRANSITION',
      ended && action
        ? `agent ${agentId} ${ended}: it cannot ${action}`
        : `agent ${agentId} in state ${state} cannot accept ${command}`,
    );
    this.hasEnded = ended !== undefined;
  }
}

export class NotSubordinate extends CadreError {
  constructor(readonly agentId: string, readonly targetId: string) {
    super('NOT_SUBORDINATE', `agent ${targetId} is not a subordinate of ${agentId}`);
  }
}

export class InboxFull extends CadreError {
  constructor(readonly recipientId: string, readonly depth: number, readonly limit: number) {
    super('INBOX_FULL', `inbox of agent ${recipientId} is full (${depth} of ${limit} messages pending)`, { retryable: true });
  }
}

export class MessageTooLarge extends CadreError {
  constructor(readonly bytes: number, readonly limit: number) {
    super('MESSAGE_TOO_LARGE', `message payload is ${bytes} bytes, over the limit of ${limit}`);
  }
}

export class RecipientUnavailable extends CadreError {
  constructor(readonly recipientId: string, readonly reason: string) {
    super('RECIPIENT_UNAVAILABLE', `cannot deliver to agent ${recipientId}: ${reason}`);
  }
}

export class WorkspaceError extends CadreError {
  constructor(message: string, options: CadreErrorOptions = {}) {
    super('WORKSPACE_ERROR', message, options);
  }
}

/** A tool's path the workspace refuses: outside its root, or (`inGit`) inside its `.git`, which no tool may touch. */
export class PathOutsideWorkspace extends CadreError {
  constructor(readonly requested: string, readonly root: string, readonly inGit = false) {
    super('PATH_OUTSIDE_WORKSPACE', inGit
      ? `path ${JSON.stringify(requested)} is in .git, which tools may not read or write (workspace ${root})`
      : `path ${JSON.stringify(requested)} resolves outside the workspace ${root}`);
  }
}

export class MergeConflict extends CadreError {
  constructor(readonly branch: string, readonly into: string, readonly files: readonly string[]) {
    super('MERGE_CONFLICT', `merging ${branch} into ${into} conflicts in ${files.join(', ') || 'unknown files'}`);
  }
}

export class ModelError extends CadreError {
  constructor(message: string, options: CadreErrorOptions & { readonly status?: number; readonly answered?: boolean } = {}) {
    super('MODEL_ERROR', message, options);
    this.status = options.status;
    this.answered = options.answered ?? false;
  }
  readonly status: number | undefined;
  /** The provider answered (and bills the call), but its reply could not be used: the call is charged its reservation. */
  readonly answered: boolean;
}

export class Aborted extends CadreError {
  constructor(reason = 'the operation was aborted') {
    super('ABORTED', reason);
  }
}

export class TimedOut extends CadreError {
  constructor(readonly what: string, readonly afterMs: number) {
    super('TIMEOUT', `${what} timed out after ${afterMs} ms`, { retryable: true });
  }
}

/**
 * The model gave no valid workflow plan: the workflow agent was recorded as failed
 * (`invalid_plan`) and its history holds the answers. Not the caller's input: exit 1, not 2.
 */
export class PlanRejected extends CadreError {
  constructor(readonly workflowId: string, attempts: number, readonly lastProblem: Error) {
    super('PLAN_REJECTED', `no valid workflow plan from the model after ${attempts} attempt(s); workflow ${workflowId} failed (invalid_plan): ${lastProblem.message}`, { cause: lastProblem });
  }
}

/**
 * A workflow's planning call ended it: its answer could not be used, or reported more usage than
 * the call could use. Names the workflow (failed, as `failure` says), whose history holds the call.
 */
export class PlanningFailed extends CadreError {
  constructor(readonly workflowId: string, readonly failure: 'model_error' | 'budget_exceeded', reason: string, options: CadreErrorOptions = {}) {
    super('PLANNING_FAILED', `workflow ${workflowId} failed while planning (${failure}): ${reason}`, options);
  }
}

export class InvalidGraph extends CadreError {
  constructor(readonly problems: readonly string[]) {
    super('INVALID_GRAPH', `invalid workflow graph: ${problems.join('; ')}`);
  }
}

export class ConfigError extends CadreError {
  constructor(readonly field: string, reason: string) {
    super('CONFIG_ERROR', `invalid configuration ${field}: ${reason}`);
  }
}

export class LeaseHeld extends CadreError {
  constructor(readonly agentId: string, readonly owner: string) {
    super('LEASE_HELD', `agent ${agentId} is live in worker ${owner}`, { retryable: true });
  }
}

/**
 * An MCP server given to `createAgentSystem({ mcpServers })` did not start, or did not list its
 * tools: the system is not created (an agent must never find a configured tool missing).
 */
export class McpServerFailed extends CadreError {
  constructor(readonly server: string, reason: string, options: CadreErrorOptions = {}) {
    super('MCP_SERVER_FAILED', `MCP server ${server} did not start: ${reason}`, { retryable: true, ...options });
  }
}

export const isCadreError = (e: unknown): e is CadreError => e instanceof CadreError;
export const isWrongExpectedRevision = (e: unknown): e is WrongExpectedRevision => e instanceof WrongExpectedRevision;
export const isBudgetExceeded = (e: unknown): e is BudgetExceeded => e instanceof BudgetExceeded;
export const isInvalidInput = (e: unknown): e is InvalidInput => e instanceof InvalidInput;
export const hasCode = (e: unknown, code: CadreErrorCode): e is CadreError => isCadreError(e) && e.code === code;

/** Who holds an embedded store's folder (see src/infra/sql/storeFolderLock.ts). */
export interface StoreHolder {
  readonly pid: number;
  readonly command: string;
  readonly folder: string;
  /** A read command that holds the folder only for a moment (it found it free): a writer waits for it instead of being refused. */
  readonly brief?: boolean;
}

/**
 * An embedded (PGlite) store's folder is open in another process. PGlite is one process's
 * database: a second process opening the folder would write its own view and the last to close
 * would win, so it is refused instead.
 */
export class StoreLocked extends CadreError {
  constructor(readonly holder: StoreHolder) {
    super(
      'STORE_LOCKED',
      `the embedded store ${holder.folder} is in use by process ${holder.pid} (${holder.command}); ` +
        'stop that process first, or set DATABASE_URL to a Postgres server, which several processes can share',
      { retryable: true },
    );
  }
}
