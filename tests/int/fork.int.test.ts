import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import type { AgentHandle } from '../../src/actors/agentHandle.js';
import type { AgentState } from '../../src/actors/replay.js';
import { tool } from '../../src/actors/userTool.js';
import type { AgentSystem } from '../../src/system.js';
import { BudgetExceeded } from '../../src/errors.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';
import { totalTokens } from '../../src/actors/ports/modelProvider.js';

/**
 * Forking an agent at a revision of its stream: the fork opens with the source's conversation up
 * to the cut and runs on with another model; the source is only read.
 */
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (model: string, id: string, name: string, input: unknown): ModelReply => ({ model, content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });
const lookup = tool({ name: 'lookup', description: 'Looks a word up.', input: z.object({ word: z.string() }), run: ({ word }) => `${word}: a small bird` });

/** Source (model a): look up, then finish "a". The fork's model b finishes "b" instead. */
function script(requests: ModelRequest[], gate?: Promise<void>) {
  return createScriptedProvider(async (r) => {
    requests.push(r);
    const turn = r.messages.filter((m) => m.role === 'assistant').length;
    if (r.agent?.role === 'lead') return call('a', 'toolu_lead_fin', 'finish', { output: 'led' });
    if (turn === 0) return call('a', 'toolu_look', 'lookup', { word: 'wren' });
    if (r.model === 'b') return call('b', 'toolu_fin_b', 'finish', { output: 'b' });
    if (gate) await gate;
    return call('a', 'toolu_fin_a', 'finish', { output: 'a' });
  });
}

/** A reader that ran to its end under `system`, and the revision just before its last model reply. */
async function finishedReader(system: AgentSystem): Promise<{ source: AgentHandle<string>; at: number }> {
  const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
  await source.run();
  return { source, at: (await system.history(source.id)).findLastIndex((e) => e.type === 'ModelReplied') - 1 };
}

/** Reads `state` until it shows a call waiting for a person. */
async function untilApprovalAsked(state: () => Promise<AgentState>): Promise<AgentState> {
  let s = await state();
  for (let i = 0; i < 300 && s.pendingApprovals.length === 0; i++) s = await new Promise((r) => setTimeout(r, 10)).then(state);
  return s;
}

describe('fork', () => {
  it('forks an agent just before its last model reply, with another model: the source untouched, conservation on both', { timeout: 60_000 }, async () => {
    const requests: ModelRequest[] = [];
    const system = await testSystem('postgres', { model: script(requests), tools: [lookup] });
    try {
      const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
      expect(await source.run()).toMatchObject({ status: 'completed', output: 'a' });
      const before = JSON.stringify(await system.history(source.id));
      const sourceState = JSON.stringify(await system.replay(source.id));
      const history = await system.history(source.id);
      const lastReply = history.findLastIndex((e) => e.type === 'ModelReplied');
      const at = lastReply - 1;

      const fork = await system.fork(source.id, { atRevision: at, model: 'b' });
      expect(fork.id).not.toBe(source.id);
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'b' });

      // The source: history and ledger byte for byte as they were.
      expect(JSON.stringify(await system.history(source.id))).toBe(before);
      expect(JSON.stringify(await system.replay(source.id))).toBe(sourceState);

      const forked = await system.history(fork.id);
      const spawned = forked[0]!;
      expect(spawned.type).toBe('AgentSpawned');
      const sourceSettled = history.slice(0, at + 1).flatMap((e) => (e.type === 'ModelReplied' && e.data.settles ? [totalTokens(e.data.usage)] : [])).reduce((a, b) => a + b, 0);
      expect(sourceSettled).toBeGreaterThan(0);
      expect(spawned.data).toMatchObject({ agentId: fork.id, parentId: null, rootId: fork.id, budget: 50_000, model: 'b', forkedFrom: { sourceId: source.id, sourceRevision: at, sourcePosition: String(history[at]!.position), spentBefore: sourceSettled } });
      // The completed calls were carried over, never made again; the pending one was asked again of b.
      expect(requests.filter((r) => r.messages.filter((m) => m.role === 'assistant').length === 0)).toHaveLength(1);
      const forkCalls = requests.filter((r) => r.agent?.id === fork.id);
      expect(forkCalls).toHaveLength(1);
      expect(forkCalls[0]!.model).toBe('b');
      expect(forked.filter((e) => e.type === 'ToolReturned')).toHaveLength(1);

      // Conservation on both trees; the source's spending is history on the fork, not charged.
      await checkTreeAtRest(system, source.id);
      await checkTreeAtRest(system, fork.id);
      const forkState = await system.replay(fork.id);
      expect(forkState.budget.consumed).toBe(usage.inputTokens + usage.outputTokens);
    } finally {
      await system.close();
    }
  });

  it('forks a running agent: the fork runs its past while the source keeps running', { timeout: 60_000 }, async () => {
    const requests: ModelRequest[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const system = await testSystem('postgres', { model: script(requests, gate), tools: [lookup] });
    try {
      const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
      const running = source.run();
      // Wait until the source asked for its second call (held at the gate).
      for (let i = 0; i < 200 && requests.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      const history = await system.history(source.id);
      const pending = history.findLastIndex((e) => e.type === 'ModelRequested');
      expect(history.slice(pending).some((e) => e.type === 'ModelReplied')).toBe(false);

      const fork = await system.fork(source.id, { atRevision: pending, model: 'b' });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'b' });
      expect((await system.replay(source.id)).status).toBe('waiting'); // still on its held model call
      open();
      expect(await running).toMatchObject({ status: 'completed', output: 'a' });
      await checkTreeAtRest(system, source.id);
      await checkTreeAtRest(system, fork.id);
    } finally {
      open();
      await system.close();
    }
  });

  it('forks under another agent (--under): its budget is delegated from that parent, conservation holds on the parent\'s tree', { timeout: 60_000 }, async () => {
    const system = await testSystem('postgres', { model: script([]), tools: [lookup] });
    try {
      const { source, at } = await finishedReader(system);
      const lead = await system.spawn({ role: 'lead', task: 'Host the fork', budget: 40_000 });
      await expect(system.fork(source.id, { atRevision: at, under: lead.id, budget: 60_000 })).rejects.toBeInstanceOf(BudgetExceeded);
      const fork = await system.fork(source.id, { atRevision: at, under: lead.id, budget: 10_000, model: 'b' });
      const spawned = (await system.history(fork.id))[0]!;
      expect(spawned.data).toMatchObject({ parentId: lead.id, rootId: lead.id, depth: 1, budget: 10_000, forkedFrom: { sourceId: source.id, sourceRevision: at } });
      expect(await lead.run()).toMatchObject({ status: 'completed' });
      expect((await system.replay(fork.id)).result).toMatchObject({ status: 'completed', output: 'b' });
      await checkTreeAtRest(system, lead.id);
      await checkTreeAtRest(system, source.id);
    } finally {
      await system.close();
    }
  });

  it('runs a tool call the cut left without its result, once, in the fork', { timeout: 60_000 }, async () => {
    const looked: string[] = [];
    const keys: string[] = [];
    const counted = tool({ name: 'lookup', description: 'Looks a word up.', input: z.object({ word: z.string() }), run: ({ word }, ctx) => {
      looked.push(ctx.agentId);
      keys.push(ctx.idempotencyKey);
      return `${word}: a small bird`;
    } });
    const system = await testSystem('postgres', { model: script([]), tools: [counted] });
    try {
      const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
      await source.run();
      const history = await system.history(source.id);
      const at = history.findIndex((e) => e.type === 'ToolCalled');
      const fork = await system.fork(source.id, { atRevision: at, model: 'b' });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'b' });
      expect(looked).toEqual([source.id, fork.id]);
      // With the source's key: a tool that deduplicates on it does the work once for both.
      expect(keys[1]).toBe(keys[0]);
      const forked = await system.history(fork.id);
      expect(forked.filter((e) => e.type === 'ToolCalled')).toHaveLength(1);
      expect(forked.filter((e) => e.type === 'ToolReturned')).toHaveLength(1);
      await checkTreeAtRest(system, fork.id);
    } finally {
      await system.close();
    }
  });

  it('a call the cut left waiting on a person, or approved but not run, is asked about again in the fork', { timeout: 60_000 }, async () => {
    const paid: string[] = [];
    const pay = tool({ name: 'lookup', description: 'Pays.', input: z.object({ word: z.string() }), needsApproval: true, run: (_, ctx) => {
      paid.push(ctx.agentId);
      return 'paid';
    } });
    const system = await testSystem('postgres', { model: script([]), tools: [pay] });
    try {
      const source = await system.spawn({ role: 'reader', task: 'Pay', budget: 50_000, tools: ['lookup'], model: 'a' });
      const running = source.run();
      const s = await untilApprovalAsked(() => system.replay(source.id));
      await system.get(source.id).approve(s.pendingApprovals[0]!.callId, { by: 'alice' });
      expect(await running).toMatchObject({ status: 'completed' });
      const history = await system.history(source.id);
      const granted = history.findIndex((e) => e.type === 'ApprovalGranted');
      expect(history[granted + 1]?.type).toBe('ToolReturned'); // the source ran it after the grant
      const fork = await system.fork(source.id, { atRevision: granted, model: 'b' });
      const f = await untilApprovalAsked(() => fork.state());
      expect(f.pendingApprovals).toHaveLength(1); // asked again, not run on alice's answer to the source
      expect(paid).toEqual([source.id]);
      await fork.deny(f.pendingApprovals[0]!.callId, 'not twice', { by: 'bob' });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'b' });
      expect(paid).toEqual([source.id]);
    } finally {
      await system.close();
    }
  });

  it('refuses an id another agent already has, for a fork under a parent and for a child spawn: nothing is recorded', { timeout: 60_000 }, async () => {
    const system = await testSystem('postgres', { model: script([]), tools: [lookup] });
    try {
      const { source, at } = await finishedReader(system);
      const lead = await system.spawn({ role: 'lead', task: 'Host the fork', budget: 40_000 });
      const other = await system.spawn({ role: 'bystander', task: 'Be there', budget: 1_000 });
      const leadBefore = JSON.stringify(await system.history(lead.id));
      const otherBefore = JSON.stringify(await system.history(other.id));
      await expect(system.fork(source.id, { atRevision: at, under: lead.id, id: other.id, budget: 1_000 })).rejects.toThrow(/fork\.id.*already exists/);
      await expect(system.fork(source.id, { atRevision: at, id: source.id })).rejects.toThrow(/fork\.id.*already exists/);
      await expect(lead.spawn({ id: other.id, role: 'helper', task: 't', budget: 1_000 })).rejects.toThrow(/spawn\.id.*already exists/);
      expect(JSON.stringify(await system.history(lead.id))).toBe(leadBefore);
      expect(JSON.stringify(await system.history(other.id))).toBe(otherBefore);
      // A retried spawn with the id it chose is still fine.
      const child = await lead.spawn({ id: '018f0000-0000-7000-8000-00000000c0de', role: 'helper', task: 't', budget: 1_000 });
      expect((await lead.spawn({ id: child.id, role: 'helper', task: 't', budget: 1_000 })).id).toBe(child.id);
    } finally {
      await system.close();
    }
  });

  it('refuses a revision past the end, a bad budget, and a source whose tools this process lacks, naming the field', { timeout: 60_000 }, async () => {
    const schema = freshSchema('fork');
    const system = await testSystem('postgres', { schema, model: script([]), tools: [lookup] });
    let sourceId = '';
    try {
      const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
      sourceId = source.id;
      await expect(system.fork(source.id, { atRevision: 99 })).rejects.toThrow(/fork\.atRevision/);
      await expect(system.fork(source.id, { atRevision: -1 })).rejects.toThrow(/fork\.atRevision/);
      await expect(system.fork('nobody', { atRevision: 0 })).rejects.toThrow(/nobody/);
      await expect(system.fork(source.id, { atRevision: 0, budget: -5 })).rejects.toThrow(/fork\.budget/);
    } finally {
      await system.close();
    }
    // A process without the source's tools could not run the fork: refused, not left waiting.
    const bare = await testSystem('postgres', { schema, model: script([]) });
    try {
      await expect(bare.fork(sourceId, { atRevision: 0 })).rejects.toThrow(/fork\.sourceId.*lookup/);
    } finally {
      await bare.close();
    }
  });
});
