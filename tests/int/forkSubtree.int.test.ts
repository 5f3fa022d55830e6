import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import { systemIds } from '../../src/infra/ids.js';
import type { DomainEvent } from '../../src/events/catalogue.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import type { AgentSystem } from '../../src/system.js';
import { checkTreeAtRest, treeOf } from '../support/actorsInvariants.js';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem } from '../support/system.js';
import { nodeCompletions, nodeStarts } from '../support/nodeEvents.js';

/**
 * Forking an agent with its subtree: every child it had by the cut is forked too, cut at the
 * same point of the store's order; a call the cut left running finds its child's fork instead of
 * spawning another; the source's tree is only read.
 */
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const uses = (model: string | undefined, ...calls: Array<[id: string, name: string, input: unknown]>): ModelReply => ({ model: model ?? 'unnamed', content: calls.map(([id, name, input]) => ({ type: 'tool_use' as const, id, name, input })), stopReason: 'tool_use', usage });
const turnOf = (r: ModelRequest): number => r.messages.filter((m) => m.role === 'assistant').length;

/** Every stream of a tree and its state, as one string: "byte for byte" is comparing two of them. */
async function treeDump(system: AgentSystem, rootId: string): Promise<string> {
  const ids = await treeOf(system, rootId);
  return JSON.stringify(await Promise.all(ids.map(async (id) => [id, await system.history(id), await system.replay(id)])));
}

describe('forking a subtree', () => {
  it('forks a lead mid-way through its child\'s work: the child is forked at the same point, the lead\'s running spawn_agent call finds it, nothing done is done again', { timeout: 400_000 }, async () => {
    const requests: ModelRequest[] = [];
    const lookedUp: string[] = [];
    let childLookedUp!: () => void;
    const childProgress = new Promise<void>((r) => (childLookedUp = r));
    const lookup = tool({ name: 'lookup', description: 'Looks a word up.', input: z.object({ word: z.string() }), run: ({ word }, ctx) => {
      lookedUp.push(ctx.agentId);
      childLookedUp();
      return `${word}: a small bird`;
    } });
    // The lead's second tool call returns once its child's lookup result is stored: the lead's
    // stream then has an event after the child's progress, to cut at.
    const pause = tool({ name: 'pause', description: 'Waits a moment.', input: z.object({}), run: async () => {
      await childProgress;
      while (!(await system.history(lookedUp[0]!)).some((e) => e.type === 'ToolReturned')) await new Promise((r) => setTimeout(r, 10));
      return 'rested';
    } });
    // …and the child finishes only once that result is stored.
    const pauseStored = async (leadId: string): Promise<void> => {
      while (!(await system.history(leadId)).some((e) => e.type === 'ToolReturned' && e.data.name === 'pause')) await new Promise((r) => setTimeout(r, 10));
    };
    const model = createScriptedProvider(async (r) => {
      requests.push(r);
      const turn = turnOf(r);
      if (r.agent?.role === 'helper' && turn === 0) return uses(r.model, ['toolu_look', 'lookup', { word: 'wren' }]);
      if (r.agent?.role === 'helper') {
        const parentId = (await system.history(r.agent.id))[0]!.data as { parentId: string };
        await pauseStored(parentId.parentId);
        return uses(r.model, ['toolu_help_fin', 'finish', { output: `helped (${r.model})` }]);
      }
      if (turn === 0) return uses(r.model, ['toolu_spawn', 'spawn_agent', { role: 'helper', task: 'Look up wren', budget: 10_000 }], ['toolu_pause', 'pause', {}]);
      return uses(r.model, ['toolu_lead_fin', 'finish', { output: `led (${r.model})` }]);
    });
    const system = await testSystem('postgres', { model, tools: [lookup, pause] });
    try {
      const lead = await system.spawn({ role: 'lead', task: 'Find out what a wren is', budget: 50_000, tools: ['lookup', 'pause'], model: 'a' });
      expect(await lead.run()).toMatchObject({ status: 'completed', output: 'led (a)' });
      const before = await treeDump(system, lead.id);
      const history = await system.history(lead.id);
      const at = history.findIndex((e) => e.type === 'ToolReturned' && e.data.name === 'pause');
      expect(history.slice(0, at + 1).some((e) => e.type === 'ChildFinished')).toBe(false); // the child was running at the cut
      const sourceChild = (history.find((e) => e.type === 'ChildSpawned')!.data as { childId: string }).childId;
      const childHistory = await system.history(sourceChild);
      const childCut = childHistory.findLastIndex((e) => e.position <= history[at]!.position);
      expect(childHistory.slice(0, childCut + 1).some((e) => e.type === 'ToolReturned')).toBe(true); // …past its lookup

      const asked = requests.length;
      const fork = await system.fork(lead.id, { atRevision: at, model: 'b' });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'led (b)' });

      expect(await treeDump(system, lead.id)).toBe(before);
      const forked = await system.history(fork.id);
      const spawns = forked.filter((e) => e.type === 'ChildSpawned');
      expect(spawns).toHaveLength(1); // the re-run spawn_agent call found the forked child
      const forkChild = (spawns[0]!.data as { childId: string }).childId;
      const forkChildHistory = await system.history(forkChild);
      expect(forkChildHistory[0]!.data).toMatchObject({ parentId: fork.id, rootId: fork.id, depth: 1, role: 'helper', forkedFrom: { sourceId: sourceChild, sourceRevision: childCut, sourcePosition: String(childHistory[childCut]!.position) } });
      expect(forkChildHistory.at(-1)!.type).toBe('AgentCompleted');
      // The child's lookup ran once, in the source: the fork carried its result.
      expect(lookedUp).toEqual([sourceChild]);
      // The fork asked the model only what the cut had not answered: the child's last turn (with
      // its own recorded model) and the lead's (with b).
      const forkAsked = requests.slice(asked).map((r) => [r.agent?.role, r.model, turnOf(r)]);
      expect(forkAsked).toEqual([['helper', 'a', 1], ['lead', 'b', 1]]);
      const tool = forked.find((e) => e.type === 'ToolReturned' && e.data.name === 'spawn_agent')!.data as { output: string };
      expect(tool.output).toContain('helped (a)');
      // Nothing the source spent is charged to the fork's tree.
      expect((await system.replay(forkChild)).budget).toMatchObject({ allocated: 10_000, consumed: usage.inputTokens + usage.outputTokens });
      await checkTreeAtRest(system, lead.id);
      await checkTreeAtRest(system, fork.id);
      // And from any other point of the lead's stream.
      expect(await forkEveryRevision(system, lead.id)).toEqual([]);
      expect(await treeDump(system, lead.id)).toBe(before);
    } finally {
      await system.close();
    }
  });

  it('forks a running lead whose child is mid-call: the fork runs to its end while the source waits, then the source ends too', { timeout: 60_000 }, async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const held: string[] = [];
    const model = createScriptedProvider(async (r) => {
      const turn = turnOf(r);
      if (r.agent?.role === 'helper' && turn === 0) return uses(r.model, ['toolu_h0', 'lookup', { word: 'wren' }]);
      if (r.agent?.role === 'helper') {
        if (held.length === 0 || held[0] === r.agent.id) {
          held.push(r.agent.id);
          await gate; // the source's helper: held mid-call
        }
        return uses(r.model, ['toolu_h1', 'finish', { output: 'helped' }]);
      }
      return turn === 0 ? uses(r.model, ['toolu_s', 'spawn_agent', { role: 'helper', task: 't', budget: 10_000 }]) : uses(r.model, ['toolu_f', 'finish', { output: 'led' }]);
    });
    const lookup = tool({ name: 'lookup', description: 'Looks a word up.', input: z.object({ word: z.string() }), run: ({ word }) => `${word}: a small bird` });
    const system = await testSystem('postgres', { model, tools: [lookup] });
    try {
      const lead = await system.spawn({ role: 'lead', task: 't', budget: 50_000, tools: ['lookup'], model: 'a' });
      const running = lead.run();
      running.catch(() => {}); // awaited below; a failed test closes the system under it
      for (let i = 0; i < 500 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(held).toHaveLength(1);
      const history = await system.history(lead.id);
      const fork = await system.fork(lead.id, { atRevision: history.length - 1 });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'led' });
      expect((await system.replay(lead.id)).status).toBe('running'); // still waiting for its held child
      expect(await treeOf(system, fork.id)).toHaveLength(2);
      open();
      expect(await running).toMatchObject({ status: 'completed', output: 'led' });
      // The source's tree knows nothing of the fork's agents.
      const sourceTree = await treeOf(system, lead.id);
      expect(sourceTree).toHaveLength(2);
      for (const id of sourceTree) expect(JSON.stringify(await system.history(id))).not.toContain(fork.id);
      await checkTreeAtRest(system, lead.id);
      await checkTreeAtRest(system, fork.id);
    } finally {
      open();
      await system.close();
    }
  });

  it('a message the subtree sent inside itself and had not acknowledged by the cut is delivered again inside the fork, never to the source', { timeout: 120_000 }, async () => {
    const model = createScriptedProvider(async (r) => {
      const turn = turnOf(r);
      const id = r.agent!.id;
      if (r.agent?.role === 'helper') {
        const parentId = ((await system.history(id))[0]!.data as { parentId: string }).parentId;
        return turn === 0 ? uses(r.model, ['toolu_send', 'send_message', { to: parentId, payload: { note: `hello from ${id}` } }]) : uses(r.model, ['toolu_hfin', 'finish', { output: 'sent' }]);
      }
      if (turn === 0) return uses(r.model, ['toolu_spawn', 'spawn_agent', { role: 'helper', task: 'Say hello', budget: 10_000 }]);
      if (turn === 1) return uses(r.model, ['toolu_recv', 'receive_messages', {}]);
      const last = r.messages.at(-1)!.content.find((b) => b.type === 'tool_result') as { content?: unknown } | undefined;
      return uses(r.model, ['toolu_lfin', 'finish', { output: `read: ${JSON.stringify(last?.content ?? '')}` }]);
    });
    const system = await testSystem('postgres', { model });
    try {
      const lead = await system.spawn({ role: 'lead', task: 'Hear from a helper', budget: 50_000, model: 'a' });
      const done = await lead.run();
      expect(done.output).toContain('hello from');
      const before = await treeDump(system, lead.id);
      const history = await system.history(lead.id);
      // Cut after the helper ended (its message sent), before the lead received it.
      const at = history.findIndex((e) => e.type === 'ChildFinished');
      expect(history.slice(0, at + 1).some((e) => e.type === 'MessageReceived')).toBe(false);
      const fork = await system.fork(lead.id, { atRevision: at });
      const result = await fork.run();
      expect(result.status).toBe('completed');
      const [, forkHelper] = await treeOf(system, fork.id);
      // The helper's fork re-sent it, to the lead's fork; the lead's fork read it once.
      const sent = (await system.history(forkHelper!)).filter((e) => e.type === 'MessageSent');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.data).toMatchObject({ to: fork.id });
      expect((await system.history(fork.id)).filter((e) => e.type === 'MessageReceived')).toHaveLength(1);
      expect(result.output).toContain('hello from');
      expect(await treeDump(system, lead.id)).toBe(before);
      // A cut after the lead acknowledged it: delivered, not sent again.
      const acked = (await system.history(lead.id)).findIndex((e) => e.type === 'MessageAcked');
      expect(acked).toBeGreaterThan(at);
      const later = await system.fork(lead.id, { atRevision: acked });
      expect((await later.run()).status).toBe('completed');
      const [, helper] = await treeOf(system, later.id);
      expect((await system.history(helper!)).some((e) => e.type === 'MessageSent')).toBe(false);
      expect((await system.history(later.id)).some((e) => e.type === 'MessageReceived')).toBe(false);
      expect(await forkEveryRevision(system, lead.id)).toEqual([]);
      expect(await treeDump(system, lead.id)).toBe(before);
      await checkTreeAtRest(system, fork.id);
    } finally {
      await system.close();
    }
  });

  it('refuses a fork budget smaller than what the source had handed its children by the cut, naming fork.budget', { timeout: 60_000 }, async () => {
    const model = createScriptedProvider((r) => {
      if (r.agent?.role === 'helper') return uses(r.model, ['toolu_h', 'finish', { output: 'ok' }]);
      return turnOf(r) === 0 ? uses(r.model, ['toolu_s', 'spawn_agent', { role: 'helper', task: 't', budget: 30_000 }]) : uses(r.model, ['toolu_f', 'finish', { output: 'done' }]);
    });
    const system = await testSystem('postgres', { model });
    try {
      const lead = await system.spawn({ role: 'lead', task: 't', budget: 50_000, model: 'a' });
      await lead.run();
      const history = await system.history(lead.id);
      const at = history.findIndex((e) => e.type === 'ChildFinished');
      await expect(system.fork(lead.id, { atRevision: at, budget: 20_000 })).rejects.toThrow(/fork\.budget.*give at least 30000/);
      // Not under the source, nor under an agent below it: that would write into the source's tree.
      const helper = (history.find((e) => e.type === 'ChildSpawned')!.data as { childId: string }).childId;
      await expect(system.fork(lead.id, { atRevision: at, under: lead.id })).rejects.toThrow(/fork\.under.*the source/);
      await expect(system.fork(lead.id, { atRevision: at, under: helper })).rejects.toThrow(/fork\.under.*in the source's subtree/);
      // A chosen id makes the children's ids guessable: one planted beforehand is refused, nothing written.
      const planted = await system.spawn({ id: systemIds.derive('chosen-fork', 'toolu_s'), role: 'planted', task: 't', budget: 777 });
      // Counted, not headPosition: that is the gap-free head, which moves on when a transaction
      // of the background that began before it ends, with nothing new written (1 run in 6 here).
      const events = async (): Promise<number> => (await system.internal.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${system.schema}.events`)).rows[0]!.n;
      const before = await events();
      await expect(system.fork(lead.id, { atRevision: at, id: 'chosen-fork' })).rejects.toThrow(/fork\.id.*already exists/);
      expect(await events()).toBe(before);
      expect((await system.history(planted.id))[0]!.data).toMatchObject({ parentId: null, role: 'planted' });
      // Big enough: the ended child is copied as it ended, giving its whole allocation back.
      const fork = await system.fork(lead.id, { atRevision: at, budget: 31_000 });
      expect(await fork.run()).toMatchObject({ status: 'completed', output: 'done' });
      const finished = (await system.history(fork.id)).find((e) => e.type === 'ChildFinished')!.data as { reclaim: { allocated: number; returned: number; spent: number } };
      expect(finished.reclaim).toEqual({ allocated: 30_000, returned: 30_000, spent: 0, overspent: 0 });
      await checkTreeAtRest(system, fork.id);
      await checkTreeAtRest(system, lead.id);
    } finally {
      await system.close();
    }
  });
});

describe('forking a workflow agent', () => {
  let system: AgentSystem;
  const forkReplies: string[] = [];
  beforeAll(async () => {
    const offline = createOfflineProvider({ latencyMs: 0 });
    const model = createScriptedProvider((r) => {
      if (r.model !== 'fork-model') return offline.complete(r);
      forkReplies.push(r.agent?.role ?? '?');
      return uses('fork-model', ['toolu_fork_fin', 'finish', { output: `reviewed another way` }]);
    });
    system = await testSystem('postgres', { model });
  });
  afterAll(() => system.close());

  it('forks the demo workflow after its implement node ended: the ended nodes are copied, only the rest runs, with the fork\'s model', { timeout: 120_000 }, async () => {
    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000 });
    expect((await wf.run()).status).toBe('completed');
    const before = await treeDump(system, wf.id);
    const history = await system.history(wf.id);
    const at = nodeCompletions(history).find((n) => n.nodeId === 'implement')!.at;
    expect(at).toBeGreaterThan(0);
    const endedBefore = nodeCompletions(history.slice(0, at + 1)).map((n) => n.nodeId);

    const fork = await system.fork(wf.id, { atRevision: at, model: 'fork-model' });
    expect((await fork.run()).status).toBe('completed');
    expect(await treeDump(system, wf.id)).toBe(before);

    const forked = await system.history(fork.id);
    expect(forked[0]!.data).toMatchObject({ kind: 'workflow', model: 'fork-model', forkedFrom: { sourceId: wf.id, sourceRevision: at } });
    const completed = (events: DomainEvent[]) => nodeCompletions(events);
    // The nodes ended by the cut are carried (under their forks' ids); the rest ran with fork-model.
    const forkNodes = completed(forked);
    expect(forkNodes.map((n) => n.nodeId).slice(0, endedBefore.length)).toEqual(endedBefore);
    const rest = forkNodes.slice(endedBefore.length);
    expect(rest.length).toBeGreaterThan(0);
    for (const n of rest) expect(n.output).toBe('reviewed another way');
    expect(forkReplies).toHaveLength(rest.length);
    // Every node child of the fork is the fork's own (its stream opens under the fork) …
    for (const n of forkNodes) {
      const opened = (await system.history(n.childId))[0]!.data as { parentId: string; forkedFrom?: unknown };
      expect(opened.parentId).toBe(fork.id);
    }
    // … and the copies say which source node they are.
    const sourceNodes = completed(history.slice(0, at + 1));
    for (const [i, n] of forkNodes.slice(0, endedBefore.length).entries()) {
      expect((await system.history(n.childId))[0]!.data).toMatchObject({ forkedFrom: { sourceId: sourceNodes[i]!.childId } });
      expect(n.output).toBe(sourceNodes[i]!.output);
    }
    await checkTreeAtRest(system, wf.id);
    await checkTreeAtRest(system, fork.id);
  });
});

/** Forks `rootId` at every revision before its end and runs each fork to its end; what went wrong, by revision. */
async function forkEveryRevision(system: AgentSystem, rootId: string): Promise<string[]> {
  const history = await system.history(rootId);
  const ends = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);
  const failures: string[] = [];
  // A cut inside the last reply's decision moves to its end, which ends the agent: refused.
  const lastReply = history.findLastIndex((e) => e.type === 'ModelReplied');
  for (let at = 0; at < history.length && !ends.has(history[at]!.type); at++) {
    if (lastReply >= 0 && at >= lastReply && history.slice(lastReply).some((e) => ends.has(e.type))) {
      await expect(system.fork(rootId, { atRevision: at })).rejects.toThrow(/fork\.atRevision.*(inside the model reply that ended the agent|had ended by then)/);
      continue;
    }
    try {
      const fork = await system.fork(rootId, { atRevision: at });
      const result = await Promise.race([fork.run(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not end in 20 s')), 20_000))]);
      if (result.status !== 'completed') failures.push(`${at} ${history[at]!.type}: ${result.status} ${result.output ?? ''}`);
      await checkTreeAtRest(system, fork.id);
    } catch (err) {
      failures.push(`${at} ${history[at]!.type}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return failures;
}

describe('forking at every revision', () => {
  it('a fork of the demo workflow at any revision of its stream runs to its end, with conservation, the source untouched', { timeout: 120_000 }, async () => {
    const system = await testSystem('postgres', { model: { provider: 'offline' } });
    try {
      const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000 });
      expect((await wf.run()).status).toBe('completed');
      const before = await treeDump(system, wf.id);
      expect(await forkEveryRevision(system, wf.id)).toEqual([]);
      expect(await treeDump(system, wf.id)).toBe(before);
    } finally {
      await system.close();
    }
  });
});

describe('forking a workflow with worktrees', () => {
  it('branches the fork from the workflow\'s last recorded merge; copied ended nodes need no worktree; the rest run on the fork\'s branch', { timeout: 120_000 }, async () => {
    const repo = createTempRepo();
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo.path, encoding: 'utf8' }).trim();
    const system = await testSystem('postgres', { model: { provider: 'offline' }, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
    try {
      const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000, workspace: true });
      expect((await wf.run()).status).toBe('completed');
      const before = await treeDump(system, wf.id);
      const history = await system.history(wf.id);
      // The implement node's completion (its ChildFinished) and the merge of its worktree after it.
      const implemented = nodeCompletions(history).find((n) => n.nodeId === 'implement')!;
      const mergedAt = history.findIndex((e, i) => i >= implemented.at && e.type === 'WorkspaceMerged' && e.data.childId === implemented.childId);
      const at = mergedAt >= 0 ? mergedAt : implemented.at;
      const merged = history.slice(0, at + 1).flatMap((e) => (e.type === 'WorkspaceMerged' && e.data.commit ? [e.data.commit] : []));
      expect(merged.length).toBeGreaterThan(0);

      const fork = await system.fork(wf.id, { atRevision: at });
      expect((await fork.run()).status).toBe('completed');
      expect(await treeDump(system, wf.id)).toBe(before);
      const forked = await system.history(fork.id);
      expect(forked[0]!.data).toMatchObject({ workspace: { base: merged.at(-1) } });
      expect(git('merge-base', '--is-ancestor', merged.at(-1)!, `agents/${fork.id}`)).toBe('');
      const nodes = nodeCompletions(forked).map((n) => n.childId);
      const copied = nodes.slice(0, nodeCompletions(history.slice(0, at + 1)).length);
      for (const id of copied) {
        const h = await system.history(id);
        expect(h[0]!.data).toMatchObject({ workspace: null });
        expect(h.some((e) => e.type === 'WorkspaceCreated')).toBe(false);
      }
      // A node the fork ran made its worktree from the fork's branch.
      const ran = nodes.slice(copied.length);
      expect(ran.length).toBeGreaterThan(0);
      for (const id of ran) expect((await system.history(id)).some((e) => e.type === 'WorkspaceCreated')).toBe(true);
      await checkTreeAtRest(system, wf.id);
      await checkTreeAtRest(system, fork.id);

      // A node forked with a file write the cut left running: its worktree first, then the write in it.
      const implement = nodeStarts(history).find((n) => n.nodeId === 'implement')!;
      const implementHistory = await system.history(implement.childId);
      const writing = implementHistory.findIndex((e) => e.type === 'ToolCalled' && e.data.name === 'write_file');
      expect(writing).toBeGreaterThan(0);
      const writer = await system.fork(implement.childId, { atRevision: writing });
      expect((await writer.run()).status).toBe('completed');
      const written = await system.history(writer.id);
      const created = written.findIndex((e) => e.type === 'WorkspaceCreated');
      const result = written.findIndex((e) => e.type === 'ToolReturned' && e.data.name === 'write_file');
      expect(created).toBeGreaterThan(0);
      expect(result).toBeGreaterThan(created);
      expect(written[result]!.data).toMatchObject({ isError: false });
    } finally {
      await system.close();
      repo.cleanup();
    }
  });
});
