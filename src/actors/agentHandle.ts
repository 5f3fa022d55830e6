import type { z } from 'zod';
import type { AgentRuntime, RunResult } from './runtime.js';
import { typedResult } from './typedResult.js';
import type { ModelTextProgress } from './runtime/progressHub.js';
import type { AgentState } from './replay.js';
import type { BudgetStatus } from './budget.js';
import { budgetStatus } from './budget.js';
import { SpawnStartSchema, type SpawnConfig } from './spawnConfig.js';
import { parseInput } from '../validation.js';
import type { HistoryEvent } from '../events/historyEvent.js';
import { parseTerminationReason } from './terminationReason.js';
import { signalOption } from './runtime/cancellation.js';
import type { PeekedMessage } from '../messaging/queueSql.js';
import type { ReceivedMessage } from './ports/messagePort.js';
import type { AgentEventsOptions } from './agentEvents.js';

/** What a handle's run resolves to: the type of its `output` schema's value, or text. */
export type OutputOf<S> = S extends z.ZodType ? z.output<S> : string;

/** Messaging as the handle sees it; wired by the system when the queue is available. */
export interface HandleMessaging {
  send(from: string, to: string, payload: unknown, options?: { priority?: number; dedupeKey?: string }): Promise<{ messageId: string }>;
  receive(recipient: string, options?: { max?: number; waitMs?: number; ack?: boolean }): Promise<ReceivedMessage[]>;
  peek(recipient: string, options?: { limit?: number }): Promise<PeekedMessage[]>;
  ack(recipient: string, messageIds: readonly string[]): Promise<void>;
}

/**
 * A handle to one agent. Cheap to make: it holds only the id; every call reads or writes
 * through the runtime, so handles never go stale.
 *
 * @example
 * const lead = await system.spawn({ role: 'lead', task: 'Ship the feature', budget: 50_000 });
 * const dev = await lead.spawn({ role: 'implementer', task: 'Write the code', budget: 20_000 });
 * const result = await lead.run();   // runs dev too, waits for both
 * console.log(result.status, await lead.getBudgetStatus());
 */
export class AgentHandle<O = string> {
  constructor(
    readonly id: string,
    private readonly runtime: AgentRuntime,
    private readonly messaging: HandleMessaging | null,
    /** The spawn's `output` schema: a completed run's output is parsed with it. */
    private readonly output: z.ZodType<O> | null = null,
  ) {}

  /**
   * Spawns a subordinate with part of this agent's budget; with `output`, its handle's results are
   * typed by it. With `start`, its opening holds the run request (see AgentSystem.spawn).
   */
  async spawn<S extends z.ZodType | undefined = undefined>(config: SpawnConfig & { output?: S }, options: { start?: boolean } = {}): Promise<AgentHandle<OutputOf<S>>> {
    const run = parseInput(SpawnStartSchema, options, 'options').start ?? false;
    const childId = await this.runtime.spawnChild(this.id, config, { idChosenByCaller: config.id !== undefined, run });
    return new AgentHandle(childId, this.runtime, this.messaging, (config.output ?? null) as z.ZodType<OutputOf<S>> | null);
  }

  /**
   * Runs the agent (and its children not yet running) and resolves when it ends. Idempotent.
   * Spawned with `output`, a completed run's `output` is the parsed value.
   *
   * Aborting `signal` cancels the agent: it and its whole subtree are terminated (in-flight model
   * calls aborted, unspent budget returned up) and this resolves with `status: 'terminated'`,
   * `reason: 'cancelled'`. An already-aborted signal terminates it at once; one aborted after
   * the end changes nothing.
   *
   * @example
   * const controller = new AbortController();
   * setTimeout(() => controller.abort(), 5_000);
   * const result = await agent.run({ signal: controller.signal }); // 'terminated' if it took longer
   */
  async run(options?: { signal?: AbortSignal }): Promise<RunResult<O>> {
    return typedResult(await this.runtime.run(this.id, signalOption(options)), this.output);
  }

  /**
   * Asks the agent to run and returns as soon as the request is recorded (it survives a restart:
   * whichever process hosts the agent then runs it); `result()` waits for the end.
   *
   * @example
   * await agent.start();
   * // ... later, or in another process: system.get(agent.id).result()
   */
  start(): Promise<void> {
    return this.runtime.start(this.id);
  }

  /**
   * Waits for the agent's end and resolves to its result, without asking it to run. Aborting
   * `signal` stops only the wait (it rejects with `Aborted`); the agent goes on. To cancel the
   * agent, abort the signal given to `run()`, or `system.terminate()` it.
   *
   * @example
   * await agent.start();
   * const result = await agent.result({ signal: AbortSignal.timeout(60_000) });
   */
  async result(options?: { signal?: AbortSignal }): Promise<RunResult<O>> {
    return typedResult(await this.runtime.result(this.id, signalOption(options)), this.output);
  }

  state(): Promise<AgentState> {
    return this.runtime.state(this.id);
  }

  async getBudgetStatus(): Promise<BudgetStatus> {
    return budgetStatus((await this.runtime.context(this.id)).budget);
  }

  /** Terminates a subordinate's whole subtree; its unspent budget returns here. */
  async fire(childId: string, reason = 'fired'): Promise<void> {
    return this.runtime.fire(this.id, childId, parseTerminationReason(reason));
  }

  /**
   * Approves a tool call parked for approval (`state().pendingApprovals`): it runs where the agent
   * is hosted. `by` names who approved, for the record.
   */
  approve(callId: string, options: { by?: string } = {}): Promise<void> {
    return this.runtime.answerApproval(this.id, callId, { granted: true, by: options.by ?? null });
  }

  /** Denies a parked tool call: the model reads `reason` as the call's error result. */
  deny(callId: string, reason = 'denied', options: { by?: string } = {}): Promise<void> {
    return this.runtime.answerApproval(this.id, callId, { granted: false, reason, by: options.by ?? null });
  }

  /** This agent's recorded events, oldest first; revisions and positions are numbers (JSON-safe). */
  history(): Promise<HistoryEvent[]> {
    return this.runtime.history(this.id);
  }

  /**
   * This agent's events as they happen: those recorded from `fromRevision` (default 0) first,
   * then each new one as it is stored, by this process or any other on the same store, in order,
   * with no gap and no duplicate between the two. The loop ends after the agent's terminal event
   * (AgentCompleted, AgentFailed or AgentTerminated); with `subtree: true` it also yields every
   * descendant's events (children join as they are spawned) and ends once all of them have ended.
   * Breaking out releases the subscription; closing the system ends the loop. Each event is a
   * `HistoryEvent`, typed by its `type`, as `history()` returns it.
   *
   * @example
   * const watching = (async () => {
   *   for await (const e of lead.events({ subtree: true })) console.log(e.streamId, e.revision, e.type);
   * })();
   * await lead.run();
   * await watching; // ends once lead and every descendant have ended
   */
  /**
   * The model's text as it arrives (`{ agentId, callId, text }` pieces), from now until the agent
   * ends or `signal` aborts: transient progress for a live view, never recorded (the complete
   * reply is, in `events()`). Only calls this process makes are seen (where the agent is hosted).
   *
   * @example
   * for await (const p of agent.modelText()) process.stdout.write(p.text);
   */
  modelText(options: { signal?: AbortSignal } = {}): AsyncGenerator<ModelTextProgress, void, undefined> {
    return this.runtime.modelText(this.id, options.signal);
  }

  events(options: AgentEventsOptions = {}): AsyncGenerator<HistoryEvent, void, undefined> {
    return this.runtime.events(this.id, options);
  }

  async sendMessage(recipientId: string, payload: unknown, options: { priority?: number; dedupeKey?: string } = {}): Promise<{ messageId: string }> {
    if (!this.messaging) throw new Error('messaging is not configured for this system');
    return this.messaging.send(this.id, recipientId, payload, options);
  }

  /** Claims this agent's next messages, best first: `{ messageId, from, payload, priority, attempt, sentAt }` each. */
  async receiveMessages(options: { max?: number; waitMs?: number; ack?: boolean } = {}): Promise<ReceivedMessage[]> {
    if (!this.messaging) throw new Error('messaging is not configured for this system');
    return this.messaging.receive(this.id, options);
  }

  /**
   * This agent's waiting messages, best first, without receiving them: nothing is recorded, no
   * delivery attempt is used, and a later `receiveMessages()` gets the same messages.
   */
  async peekMessages(options: { limit?: number } = {}): Promise<PeekedMessage[]> {
    if (!this.messaging) throw new Error('messaging is not configured for this system');
    return this.messaging.peek(this.id, options);
  }

  async ack(messageIds: readonly string[]): Promise<void> {
    if (!this.messaging) throw new Error('messaging is not configured for this system');
    return this.messaging.ack(this.id, messageIds);
  }
}
