import { isCadreError, ModelError } from '../../errors.js';
import type { DomainEvent } from '../../events/catalogue.js';
import type { AgentSnapshot } from '../replay.js';
import type { AgentContext } from '../agentContext.js';
import { afterReply, afterUnusableReply, affordableMaxTokens, failureEvents, MIN_OUTPUT_TOKENS } from '../agentDecisions.js';
import { conversation, systemPrompt } from '../agentPrompt.js';
import { available } from '../budget.js';
import type { LiveActor } from '../liveActor.js';
import type { ModelRequest } from '../ports/modelProvider.js';
import type { RuntimeDeps } from '../runtimeConfig.js';
import { pureToolResult } from '../toolRunner.js';
import { toolsFor } from '../tools.js';
import { execute } from './commandExecutor.js';
import { redact, runningSub, type RuntimeContext } from './runtimeContext.js';
import { resolveBlobs } from './toolOutputBlobs.js';
import { attach } from './attachments.js';

/** One model turn: record the request, which reserves its worst case, and the effect makes the call. */
export async function startTurn(rt: RuntimeContext, id: string): Promise<void> {
  await execute(rt, id, (s) => turnEvents(rt, s));
}

/**
 * What a model turn decides on `s`: the request, holding its reservation (the request itself as a
 * blob, in the same commit where the store can), or the agent's failure (out of turns or of budget); nothing unless the agent
 * is running and deciding.
 */
export async function turnEvents(rt: RuntimeContext, s: AgentSnapshot): Promise<DomainEvent[]> {
  const { deps } = rt;
  if (runningSub(s.value) !== 'active') return [];
  const c = s.context;
  if (c.turn >= c.maxTurns) return failureEvents(c, 'max_turns', `stopped after ${c.maxTurns} turns without finishing`);
  const availability = { workspace: c.workspace !== null && !!deps.workspaces, commands: deps.config.allowCommands, messages: !!deps.messages };
  const tools = toolsFor(availability, c.tools.map((name) => deps.tools.spec(name)), c.outputSchema);
  const draft: ModelRequest = {
    ...(c.model ? { model: c.model } : {}),
    system: systemPrompt(c),
    messages: await resolveBlobs(rt, conversation(c)),
    tools,
    maxTokens: deps.config.maxTokensPerCall,
    agent: askedBy(c),
  };
  const input = deps.model.estimateInputTokens(draft);
  const maxTokens = affordableMaxTokens(c, input, deps.config.maxTokensPerCall);
  if (maxTokens < MIN_OUTPUT_TOKENS) {
    // Both figures: a budget of the first gives a reply of MIN_OUTPUT_TOKENS at most, which a real
    // model cuts short (a new user gave just that and got max_tokens=60).
    const left = available(c.budget);
    return failureEvents(c, 'budget_exhausted', `budget exhausted: ${left} token${left === 1 ? '' : 's'} left, a turn needs at least ${input + MIN_OUTPUT_TOKENS} (about ${input} in) and about ${input + deps.config.maxTokensPerCall} to leave room for a full reply (${deps.config.maxTokensPerCall} out): spawn it again with a larger --budget (or fork it with --budget)`);
  }
  // Stored as the provider is sent it: `agent` (never sent to an API) is the agent's own record,
  // and repeated its task in every request blob (~250 bytes an agent step, issue 19).
  const { agent: _askedBy, ...request }: ModelRequest = { ...draft, maxTokens };
  // Stored in the commit of the event naming it where the store can (a statement and a commit
  // less per turn), else first.
  const staged = deps.store.storesAttachments ? deps.blobs.stage(request) : null;
  const requestRef = staged?.ref ?? (await deps.blobs.put(request));
  const callId = deps.ids.derive(c.id, `call-${c.turn}`);
  const reserved = input + maxTokens;
  const requested: DomainEvent = { type: 'ModelRequested', data: { callId, turn: c.turn, provider: deps.model.name, model: c.model ?? deps.model.defaultModel, requestRef, reserved, reserves: true } };
  return [staged ? attach(requested, staged) : requested];
}

/**
 * Makes the recorded model call (`callModel`) and records its reply or failure. At most one call
 * per callId is under way here (`inflight.call`); once it is `sent`, close() lets it finish.
 */
export async function callModel(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  const pending = actor.snapshot.context.pendingCall;
  if (!pending || actor.inflight.call?.callId === pending.callId) return;
  const controller = new AbortController();
  actor.inflight.call = { callId: pending.callId, controller };
  try {
    await rt.slots.acquire(actor.id);
    if (rt.stopping) return; // not sent: the next host sends it
    const stored = (await rt.deps.blobs.get(pending.requestRef)) as ModelRequest;
    // Requests stored before it was left out carry `agent` themselves.
    const request: ModelRequest = { ...stored, agent: stored.agent ?? askedBy(actor.snapshot.context) };
    if (actor.inflight.call?.callId === pending.callId) actor.inflight.call.sent = true;
    let outcome: { ok: true; reply: Awaited<ReturnType<RuntimeDeps['model']['complete']>> } | { ok: false; err: unknown };
    try {
      const onText = rt.progress.onTextFor(actor.id, pending.callId);
      outcome = { ok: true, reply: await rt.deps.model.complete(request, { signal: controller.signal, ...(onText ? { onText } : {}) }) };
    } catch (err) {
      outcome = { ok: false, err };
    }
    // Fired, shutting down, or the lease lost (onLost aborts): whoever holds the agent now records its turn.
    if (controller.signal.aborted || rt.closed) return;
    // Priced as the model asked for, not as the reply names itself: whatever answers at the base
    // URL could claim a free model (a hostile server's `totally-free-model` cost $0) or a dear one.
    // Prices match by prefix, so a dated name the API reports costs what its alias does.
    const model = request.model ?? rt.deps.model.defaultModel;
    const recorded = (c: AgentContext): DomainEvent[] => {
      if (outcome.ok) return afterReply(c, pending.callId, outcome.reply, rt.deps.costOf(model, outcome.reply.usage), (name, input) => pureToolResult(name, input, (t) => redact(rt, t), c.outputSchema));
      const message = redact(rt, outcome.err instanceof Error ? outcome.err.message : String(outcome.err));
      if (outcome.err instanceof ModelError && outcome.err.answered) {
        const worst = { inputTokens: Math.max(0, pending.reserved - request.maxTokens), outputTokens: request.maxTokens, cacheReadTokens: 0, cacheCreationTokens: 0 };
        return afterUnusableReply(c, pending.callId, message, { model, costUsd: rt.deps.costOf(model, worst) });
      }
      const retryable = isCadreError(outcome.err) ? outcome.err.retryable : false;
      const afterFail: AgentContext = { ...c, pendingCall: null };
      return [{ type: 'ModelFailed', data: { callId: pending.callId, error: message, retryable } }, ...failureEvents(afterFail, 'model_error', `model call failed: ${message}`)];
    };
    // Loaded with this call unanswered: the host before may have sent it too (LiveActor.inheritedCall).
    const resent = actor.inheritedCall === pending.callId;
    await execute(rt, actor.id, (s) => {
      if (s.context.pendingCall?.callId !== pending.callId) return [];
      return resent ? markResent(recorded(s.context), pending.callId) : recorded(s.context);
    }, { causationId: `model:${pending.callId}` });
  } finally {
    if (actor.inflight.call?.callId === pending.callId) actor.inflight.call = null;
  }
}

/** `events` with the reply to (or failure of) `callId` marked as sent again after a takeover. */
export function markResent(events: DomainEvent[], callId: string): DomainEvent[] {
  return events.map((e) => ((e.type === 'ModelReplied' || e.type === 'ModelFailed') && e.data.callId === callId ? { ...e, data: { ...e.data, resent: true } } : e) as DomainEvent);
}

/** Who asks, as the offline model reads it from a request (ModelRequest.agent). */
const askedBy = (c: AgentContext): NonNullable<ModelRequest['agent']> => ({ id: c.id, role: c.role, task: c.task, hasWorkspace: c.workspace !== null });
