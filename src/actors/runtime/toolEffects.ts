import type { AgentContext } from '../agentContext.js';
import type { LiveActor } from '../liveActor.js';
import { runTool, type ToolContext } from '../toolRunner.js';
import { loadActor } from './actorCache.js';
import { NotFound } from '../../errors.js';
import { execute } from './commandExecutor.js';
import { onEffectError } from './effectFailure.js';
import { redact, track, type RuntimeContext } from './runtimeContext.js';
import { ensureChildRunning, spawnChild } from './spawning.js';
import { offloadToolOutput } from './toolOutputBlobs.js';
import { waitForEnd } from './waitForEnd.js';
import { needsApproval, requestApproval } from './approvals.js';
import { toolResultEvents } from './toolResultEvents.js';
import { agentBranch } from '../../infra/workspace/agentBranch.js';

/**
 * Runs the tools the model asked for (`runTools`), each once: a tool already running here
 * (`inflight.tools`) is not started again.
 */
export function runTools(rt: RuntimeContext, actor: LiveActor): void {
  const c = actor.snapshot.context;
  for (const [toolUseId, tool] of Object.entries(c.pendingTools)) {
    if (actor.inflight.tools.has(toolUseId)) continue;
    // The call id names the call everywhere: its idempotency key, its approval (`approve(agent,
    // callId)`), its result. A model that repeats an old id (a hostile one did, to run a large
    // payment under the key of an approved small one) gets an error result, and nothing runs.
    if (usedInAnEarlierTurn(c, toolUseId)) {
      refuseCall(rt, actor, toolUseId, tool.name, `the tool_use id ${toolUseId} was used earlier in this conversation; call the tool again with a new id`);
      continue;
    }
    // Parked for a person's answer, or to be parked: it runs once granted (approvals.ts). A
    // needsApproval that throws decides nothing: the call does not run, and the model reads why.
    const approval = c.pendingApprovals[toolUseId];
    let mustAsk: boolean;
    try {
      mustAsk = approval ? !approval.granted : needsApproval(rt, c, tool.name, tool.input);
    } catch (err) {
      refuseCall(rt, actor, toolUseId, tool.name, `needsApproval of ${tool.name} failed, so the call did not run: ${redact(rt, err instanceof Error ? err.message : String(err))}`);
      continue;
    }
    if (mustAsk) {
      if (!approval) track(rt, requestApproval(rt, actor.id, toolUseId, tool.name, tool.input).catch((err: unknown) => onEffectError(rt, actor.id, err)));
      continue;
    }
    const controller = new AbortController();
    actor.inflight.tools.set(toolUseId, controller);
    track(
      rt,
      runOneTool(rt, actor, toolUseId, tool.name, tool.input, controller.signal)
        .catch((err: unknown) => onEffectError(rt, actor.id, err))
        .finally(() => actor.inflight.tools.delete(toolUseId)),
    );
  }
}

async function runOneTool(rt: RuntimeContext, actor: LiveActor, toolUseId: string, name: string, input: unknown, signal: AbortSignal): Promise<void> {
  const { deps } = rt;
  const waitsOnChild = name === 'spawn_agent';
  if (waitsOnChild) rt.slots.release(actor.id);
  else await rt.slots.acquire(actor.id);
  const ctx: ToolContext = {
    agentId: actor.id,
    context: actor.snapshot.context,
    toolUseId,
    workspaces: deps.workspaces,
    messages: deps.messages,
    allowCommands: deps.config.allowCommands,
    commandTimeoutMs: deps.config.commandTimeoutMs,
    redact: (text) => redact(rt, text),
    userTools: deps.tools,
    // Derived, not random: a run after a crash gets the same key (src/actors/userTool.ts); a
    // fork's carried call gets its source's (the model's call ids are unique, and one already
    // used in an earlier turn is refused).
    idempotencyKey: deps.ids.derive(actor.snapshot.context.toolKeyScope ?? actor.id, `tool:${toolUseId}`),
    signal,
    spawnAndWait: async (config) => {
      const childId = await spawnChild(rt, actor.id, config, { toolUseId, run: true });
      await ensureChildRunning(rt, actor.id, childId);
      const result = await waitForEnd(rt, childId);
      // Recorded with the parent's record of the end, which waitForEnd waited for.
      const merge = (await loadActor(rt, actor.id)).snapshot.context.merges.find((m) => m.childId === childId);
      if (merge) return { ...result, merge: { status: merge.status, files: merge.files, branch: agentBranch(childId) } };
      if (result.status === 'completed' || !(await loadActor(rt, childId)).snapshot.context.lastCommit) return result;
      return { ...result, merge: { status: 'not_completed', files: [], branch: agentBranch(childId) } };
    },
    rootOf: (id) => loadActor(rt, id).then((a) => a.snapshot.context.rootId, (err: unknown) => (err instanceof NotFound ? null : Promise.reject(err))),
    recordMessagesReceived: (msgs) =>
      execute(rt, actor.id, () => msgs.map((m) => ({ type: 'MessageReceived' as const, data: { messageId: m.messageId, from: m.from, attempt: m.attempt } }))).then(() => undefined),
  };
  const raw = await runTool(name, input, ctx);
  // Shutting down, or the lease lapsed while the tool ran: the new host runs it again and records it.
  // Aborted by a termination: its end records what is due, not this result.
  if (rt.closed || signal.aborted || (rt.worker && !rt.worker.hosts(actor.id))) return;
  const result = await offloadToolOutput(rt, name, raw);
  await execute(rt, actor.id, (s) => toolResultEvents(s, toolUseId, name, result), { causationId: `tool:${toolUseId}` });
}

/** Whether a tool_use id already appeared in a reply before the current one (the transcript's last assistant entry). */
function usedInAnEarlierTurn(c: AgentContext, toolUseId: string): boolean {
  let latest = true;
  for (let i = c.transcript.length - 1; i >= 0; i--) {
    const entry = c.transcript[i]!;
    if (entry.kind !== 'assistant') continue;
    if (!latest && entry.content.some((b) => b.type === 'tool_use' && b.id === toolUseId)) return true;
    latest = false;
  }
  return false;
}

/** Records an error result for a call that must not run; the model reads `why`. Once, like a run. */
function refuseCall(rt: RuntimeContext, actor: LiveActor, toolUseId: string, name: string, why: string): void {
  actor.inflight.tools.set(toolUseId, new AbortController());
  track(
    rt,
    execute(rt, actor.id, (s) => toolResultEvents(s, toolUseId, name, { output: why, isError: true }), { causationId: `tool:${toolUseId}` })
      .then(() => undefined, (err: unknown) => onEffectError(rt, actor.id, err))
      .finally(() => actor.inflight.tools.delete(toolUseId)),
  );
}
