import type { AgentRuntime, RunResult } from './runtime.js';
import type { AgentState } from './replay.js';
import type { BudgetStatus } from './budget.js';
import { budgetStatus } from './budget.js';
import type { SpawnConfig } from './spawnConfig.js';
import type { HistoryEvent } from '../events/historyEvent.js';
import { parseTerminationReason } from './terminationReason.js';
import { signalOption } from './runtime/cancellation.js';
import type { PeekedMessage } from '../messaging/queueSql.js';
import type { ReceivedMessage } from './ports/messagePort.js';

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
export class AgentHandle {
  constructor(
    readonly id: string,
    private readonly runtime: AgentRuntime,
    private readonly messaging: HandleMessaging | null,
  ) {}

  /** Spawns a subordinate with part of this agent's budget. */
  async spawn(config: SpawnConfig): Promise<AgentHandle> {
    const childId = await this.runtime.spawnChild(this.id, config);
    return new AgentHandle(childId, this.runtime, this.messaging);
  }

  /**
   * Runs the agent (and its children not yet running) and resolves when it ends. Idempotent.
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
  async run(options?: { signal?: AbortSignal }): Promise<RunResult> {
    return this.runtime.run(this.id, signalOption(options));
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
  async result(options?: { signal?: AbortSignal }): Promise<RunResult> {
    return this.runtime.result(this.id, signalOption(options));
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

  /** This agent's recorded events, oldest first; revisions and positions are numbers (JSON-safe). */
  history(): Promise<HistoryEvent[]> {
    return this.runtime.history(this.id);
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
