import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { ModelReply, ModelRequest, ModelProvider } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';
import { plausibleUsage } from '../support/plausibleUsage.js';

const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const tool = (id: string, name: string, input: unknown, request?: ModelRequest): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage: request ? { ...plausibleUsage(request), outputTokens: usage.outputTokens } : usage });
const lastToolResult = (req: ModelRequest): string | undefined => {
  const last = req.messages[req.messages.length - 1]!;
  const block = last.content.find((b) => b.type === 'tool_result');
  return block && block.type === 'tool_result' ? block.content : undefined;
};

describe('the agent loop: a coordinator and two workers that write files and message each other', () => {
  let system: AgentSystem;
  let repo: ReturnType<typeof createTempRepo>;
  const big = 'x'.repeat(10_000);
  let coordinatorId = '';

  beforeAll(async () => {
    repo = createTempRepo();
    const model = createScriptedProvider(async (req) => {
      const me = req.agent!;
      const turn = req.messages.filter((m) => m.role === 'assistant').length;
      if (me.role === 'coordinator') {
        if (turn === 0) {
          return { model: 'scripted', stopReason: 'tool_use', usage, content: [
            { type: 'tool_use', id: 'spawn-a', name: 'spawn_agent', input: { role: 'writer-a', task: 'write a.md', budget: 30_000 } },
            { type: 'tool_use', id: 'spawn-b', name: 'spawn_agent', input: { role: 'writer-b', task: 'write b.md', budget: 30_000 } },
          ] };
        }
        return tool('fin', 'finish', { output: 'both workers finished' }, req);
      }
      const mine = me.role === 'writer-a' ? 'a' : 'b';
      const siblingRole = mine === 'a' ? 'writer-b' : 'writer-a';
      if (turn === 0) return tool(`w-${mine}`, 'write_file', { path: `${mine}.md`, content: `${mine}\n${big}` }, req);
      if (turn === 1) return tool(`r-${mine}`, 'read_file', { path: `${mine}.md` }, req);
      if (turn === 2) {
        // Wait until the sibling exists, then message it.
        let sibling: string | undefined;
        for (let i = 0; i < 100 && !sibling; i++) {
          sibling = (await system.internal.runtime.state(coordinatorId)).children.find((c) => c.role === siblingRole)?.id;
          if (!sibling) await new Promise((r) => setTimeout(r, 20));
        }
        return tool(`s-${mine}`, 'send_message', { to: sibling, payload: { from: mine, text: `hello from ${mine}` } }, req);
      }
      const got = lastToolResult(req);
      if (got && got.startsWith('[{')) return tool(`f-${mine}`, 'finish', { output: `received ${got}` }, req);
      await new Promise((r) => setTimeout(r, 30));
      return tool(`rx-${mine}-${turn}`, 'receive_messages', { max: 5 }, req);
    });
    system = await testSystem('postgres', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' }, maxTurns: 30 });
  });
  afterAll(async () => {
    await system.close();
    repo.cleanup();
  });

  it('runs to completion, stores large tool output once by hash, and replays to the live state', async () => {
    const coordinator = await system.spawn({ role: 'coordinator', task: 'get two files written', budget: 100_000, workspace: true });
    coordinatorId = coordinator.id;
    const result = await coordinator.run();
    expect(result.status).toBe('completed');
    const state = await coordinator.state();
    expect(state.children).toHaveLength(2);
    for (const child of state.children) {
      expect(child.status).toBe('completed');
      const h = system.get(child.id);
      const out = (await h.state()).result!.output!;
      expect(out).toMatch(/received .*hello from [ab]/);
      // The big read_file result is a blob reference in the stream, not 10 kB inline.
      const events = await system.history(child.id);
      const read = events.find((e) => e.type === 'ToolReturned' && (e.data as { name: string }).name === 'read_file')!;
      const readRef = (read.data as { output: string }).output;
      expect(readRef).toMatch(/^blob:sha256:[0-9a-f]{64}$/);
      expect(JSON.stringify(read.data).length).toBeLessThan(300);
      // The blob table holds the whole output, under the hash of its own content.
      const blob = (await system.internal.sql.query<{ content: unknown }>(`SELECT content FROM ${system.schema}.blobs WHERE ref = $1`, [readRef.slice(5)])).rows[0]?.content;
      expect(JSON.stringify(blob)).toContain(big);
      expect(`sha256:${createHash('sha256').update(JSON.stringify(blob)).digest('hex')}`).toBe(readRef.slice(5));
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['MessageSent', 'MessageReceived', 'WorkspaceCommitted']));
      expect(await system.replay(child.id)).toEqual(await h.state());
    }
    expect(await system.replay(coordinator.id)).toEqual(state);
    // Bytes stored per model turn, with the blob table and as if everything were inline.
    const events = await system.history(state.children[0]!.id);
    const turns = events.filter((e) => e.type === 'ModelRequested').length;
    const streamBytes = events.reduce((n, e) => n + JSON.stringify(e.data).length, 0);
    const refs = events.flatMap((e) => {
      const d = e.data as { requestRef?: string; output?: string };
      return [d.requestRef, d.output?.startsWith('blob:') ? d.output.slice(5) : undefined].filter((r): r is string => !!r);
    });
    const blobBytes = (await Promise.all(refs.map(async (r) => JSON.stringify((await system.internal.sql.query<{ content: unknown }>(`SELECT content FROM ${system.schema}.blobs WHERE ref = $1`, [r])).rows[0]!.content).length))).reduce((a, b) => a + b, 0);
    console.log(`[bytes per turn] ${turns} turns: stream ${Math.round(streamBytes / turns)} B/turn with the blob table, ${Math.round((streamBytes + blobBytes) / turns)} B/turn if inline`);
    // What the blob table keeps out of the stream is at least the 10 kB file read back.
    expect(blobBytes).toBeGreaterThan(big.length);
    // Both workers' files were merged into the coordinator's branch.
    const files = repo.git(['ls-tree', '-r', '--name-only', `agents/${coordinator.id}`]).split('\n');
    expect(files).toEqual(expect.arrayContaining(['a.md', 'b.md']));
  });
});

describe('a restart in the middle of a turn', () => {
  it('re-issues exactly the one unanswered call', async () => {
    let stalled = 0;
    const hanging: ModelProvider = {
      name: 'hanging', isLLM: false, defaultModel: 'hang',
      estimateInputTokens: () => 100,
      complete: (_req, o) => new Promise((_, reject) => { stalled++; o?.signal?.addEventListener('abort', () => reject(new Error('aborted'))); }),
    };
    const first = await testSystem('postgres', { model: hanging });
    const agent = await first.spawn({ role: 'solo', task: 'answer', budget: 10_000 });
    void agent.run().catch(() => {});
    for (let i = 0; i < 200 && stalled === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(stalled).toBe(1);
    // The first process stops with its call unanswered (close() abandons it for recovery and lets
    // the lease go; while it lived, its lease kept every other process from running the agent).
    await first.close();
    const scripted = createScriptedProvider([tool('f', 'finish', { output: 'done after restart' })]);
    // A second process on the same store takes over and asks the model once more.
    const second = await testSystem('postgres', { model: scripted, schema: first.schema });
    const result = await second.run(agent.id);
    expect(result.status).toBe('completed');
    expect(scripted.requests).toHaveLength(1);
    const types = (await second.history(agent.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'ModelRequested')).toHaveLength(1);
    expect(types.filter((t) => t === 'ModelReplied')).toHaveLength(1);
    await second.close();
  });
});
