import type { DomainEvent } from '../events/catalogue.js';
import type { ModelMessage, ModelProvider, ModelReply, ModelRequest } from '../actors/ports/modelProvider.js';
import { totalTokens } from '../actors/ports/modelProvider.js';
import { available } from '../actors/budget.js';
import { failureEvents, overReservation } from '../actors/agentDecisions.js';
import { BudgetExceeded, InvalidGraph, InvalidInput, ModelError, PlanningFailed, PlanRejected } from '../errors.js';
import { buildDecompositionRequest, parsePlanToolInput, SUBMIT_PLAN_TOOL } from '../infra/model/decompositionRequest.js';
import { validateGraph, type WorkflowGraph } from './graph.js';
import { excerpt } from '../projections/projection.js';
import { workflowsOf, type RuntimeLike, type SpawnWorkflowOptions } from './workflowRuntime.js';

export interface DecomposeOptions extends Omit<SpawnWorkflowOptions, 'task'> {
  /** Roles the plan may use; default: every known role (built-in plus template roles). */
  readonly roles?: readonly string[];
  /** Output tokens asked for per planning call (capped by the budget); default 2048. */
  readonly maxTokens?: number;
  /** Model calls in all (the first, plus one retry with the validation errors); default 2. */
  readonly attempts?: number;
  /** Aborts the planning call in flight: the workflow is then recorded as failed (`interrupted`), its reservation released. */
  readonly signal?: AbortSignal;
}

/** Below this many output tokens a planning call is not worth making. */
const MIN_PLAN_TOKENS = 64;

/**
 * Auto-decomposition: asks the model for a graph (a forced `submit_plan` tool call whose
 * schema enumerates the roles), validates it, asks once more with the validation errors when
 * it is invalid, and records the accepted plan (WorkflowPlanned, source `decomposition`) in the
 * new workflow's stream before any node is spawned. Returns the workflow agent's id; it does
 * not run it.
 *
 * Budget: each planning call is paid by the workflow. The plan must exist before the workflow
 * runs, and the machine takes a ModelRequested only from a running agent, so each call is
 * recorded in the still-spawned workflow's stream as a BudgetReserved (`decompose-<attempt>`,
 * its input bound and max_tokens) before it is made, persisted before the call as a turn's
 * request is, and a BudgetSettled (its real usage and cost) after, with a WorkflowPlanRejected
 * (the answer and its problems) for each plan refused; node shares are then computed from what
 * is left. A call that fails releases its reservation with the workflow's failure; one cut off
 * by a crash leaves it held, in sight (`cadre budget`), until the workflow ends. When no valid plan
 * comes back, the workflow is recorded as failed (`invalid_plan`) and `PlanRejected` is thrown,
 * naming it, with the last validation error as its cause.
 *
 * @example
 * const id = await decompose(system, system.model, 'Design a cache, then implement it and write tests', { budget: 60_000 });
 * const result = await runWorkflow(system, id);
 */
export async function decompose(target: RuntimeLike, model: ModelProvider, task: string, options: DecomposeOptions): Promise<string> {
  const workflows = workflowsOf(target);
  const runtime = workflows.runtime;
  const roles = [...(options.roles ?? workflows.roles())];
  if (roles.length === 0) throw new InvalidInput('roles', 'at least one role is required');
  const id = await runtime.spawnRoot(
    {
      role: 'workflow',
      task,
      budget: options.budget,
      ...(options.id ? { id: options.id } : {}),
      ...(options.workspace !== undefined ? { workspace: options.workspace } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.model ? { model: options.model } : {}),
    },
    { kind: 'workflow' },
  );
  const record = (events: DomainEvent[]): Promise<unknown> => runtime.execute(id, () => events, { causationId: 'api:decompose' });
  const fail = async (cause: string, reason: string): Promise<void> => {
    await runtime.execute(id, (s) => (s.context.result ? [] : failureEvents(s.context, cause, reason)), { causationId: 'api:decompose' });
  };

  const attempts = options.attempts ?? 2;
  let followUp: ModelMessage[] = [];
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const context = await runtime.context(id);
    const agent = { id, role: 'workflow', task, hasWorkspace: false };
    const draft = buildDecompositionRequest({ task, roles, maxTokens: options.maxTokens ?? 2048, agent, ...(options.model ? { model: options.model } : {}) });
    const withHistory: ModelRequest = { ...draft, messages: [...draft.messages, ...followUp] };
    const input = model.estimateInputTokens(withHistory);
    const maxTokens = Math.min(withHistory.maxTokens, available(context.budget) - input);
    if (maxTokens < MIN_PLAN_TOKENS) {
      const err = new BudgetExceeded(id, input + MIN_PLAN_TOKENS, available(context.budget), 'a decomposition call');
      await fail('budget_exhausted', err.message);
      throw err;
    }
    const reservationId = `decompose-${attempt}`;
    const held = input + maxTokens;
    await record([{ type: 'BudgetReserved', data: { reservationId, amount: held } }]);
    let reply: ModelReply;
    try {
      reply = await model.complete({ ...withHistory, maxTokens }, options.signal ? { signal: options.signal } : undefined);
    } catch (err) {
      if (options.signal?.aborted) await fail('interrupted', 'planning was interrupted before the model answered; run the task again');
      else {
        // Answered, but unusable (a reply checkingModel refused): charged its whole reservation, as
        // an agent's turn is (afterUnusableReply), not released as if nothing had been spent.
        if (err instanceof ModelError && err.answered) {
          const asked = withHistory.model ?? model.defaultModel;
          const worst = { inputTokens: input, outputTokens: maxTokens, cacheReadTokens: 0, cacheCreationTokens: 0 };
          await record([{ type: 'BudgetSettled', data: { reservationId, consumed: held, model: asked, costUsd: runtime.costOf(asked, worst) } }]);
        }
        await fail('model_error', `decomposition call failed: ${(err as Error).message}`);
        // Named with the workflow it failed (the bare provider error named none, a trial's).
        if (err instanceof ModelError) throw new PlanningFailed(id, 'model_error', err.message, { cause: err });
      }
      throw err;
    }
    const consumed = totalTokens(reply.usage);
    const settled: DomainEvent = {
      type: 'BudgetSettled',
      // Priced as the model asked for, as an agent's turn is (modelTurn.ts), not as the reply names itself.
      data: { reservationId, consumed, model: reply.model, costUsd: runtime.costOf(withHistory.model ?? model.defaultModel, reply.usage) },
    };
    // The same hard cap as an agent's turn (agentDecisions.afterReply): the whole usage is
    // recorded, the excess over what the call could use has its own event, and the workflow fails.
    if (consumed > held) {
      // Not BudgetExceeded: it said the call "needs" the tokens already spent, and its hint (a
      // larger budget) only lets a model that lies spend more (a trial's).
      await record([settled, { type: 'BudgetOverspent', data: { reservationId, reserved: held, consumed, excess: consumed - held } }]);
      const reason = overReservation(consumed, held, 'the workflow');
      await fail('budget_exceeded', reason);
      throw new PlanningFailed(id, 'budget_exceeded', reason);
    }
    const calls = reply.content.filter((b): b is Extract<typeof b, { type: 'tool_use' }> => b.type === 'tool_use' && b.name === SUBMIT_PLAN_TOOL);
    let graph: WorkflowGraph;
    try {
      // Two plans in one answer: which one it meant is not ours to guess (the first was taken, the
      // second dropped with nothing recorded, a trial's).
      if (calls.length > 1) throw new InvalidInput('plan', `${SUBMIT_PLAN_TOOL} was called ${calls.length} times in one answer; call it once, with the whole plan`);
      // Text alone read as "Invalid input: expected object, received undefined" (a trial's).
      if (calls.length === 0) throw new InvalidInput('plan', `the answer did not call ${SUBMIT_PLAN_TOOL}; submit the plan with it`);
      graph = validateGraph(parsePlanToolInput(calls[0]!.input, { roles }), { roles, field: 'plan' });
    } catch (err) {
      if (!(err instanceof InvalidGraph || err instanceof InvalidInput)) throw err;
      // What the model answered and why it was refused, so `cadre history` shows the answers.
      await record([settled, { type: 'WorkflowPlanRejected', data: { attempt, answer: answerOf(reply), problems: err.message } }]);
      lastError = err;
      followUp = [...followUp, ...retryMessages(reply, err.message)];
      continue;
    }
    await record([settled, { type: 'WorkflowPlanned', data: { source: 'decomposition', templateId: null, graph } }]);
    return id;
  }
  await fail('invalid_plan', `no valid plan after ${attempts} attempts: ${(lastError as Error).message}`);
  throw new PlanRejected(id, attempts, lastError as Error);
}

/** Answers are kept whole up to this many characters: a 100-node plan of long tasks is cut. */
const MAX_ANSWER = 20_000;

/** The plan the model submitted, as JSON; when it submitted none, what it said and called instead. */
function answerOf(reply: ModelReply): string {
  const call = reply.content.find((b) => b.type === 'tool_use' && b.name === SUBMIT_PLAN_TOOL);
  const text = call?.type === 'tool_use'
    ? JSON.stringify(call.input) ?? 'null'
    : reply.content.map((b) => (b.type === 'text' ? b.text : `(called ${b.name}: ${JSON.stringify(b.input)})`)).join('\n') || '(no answer)';
  return excerpt(text, MAX_ANSWER)!;
}

/** The model's invalid answer and what was wrong with it, so the next call can correct it. */
function retryMessages(reply: ModelReply, problems: string): ModelMessage[] {
  const text = `The plan is invalid: ${problems}. Submit a corrected plan with the ${SUBMIT_PLAN_TOOL} tool.`;
  const assistant: ModelMessage = { role: 'assistant', content: reply.content.length > 0 ? reply.content : [{ type: 'text', text: '(no answer)' }] };
  // Every tool call of the answer gets its result (the API insists), the errors in each.
  const calls = reply.content.filter((b) => b.type === 'tool_use');
  if (calls.length === 0) return [assistant, { role: 'user', content: [{ type: 'text', text }] }];
  return [assistant, { role: 'user', content: calls.map((b) => ({ type: 'tool_result' as const, toolUseId: b.id, content: text, isError: true })) }];
}
