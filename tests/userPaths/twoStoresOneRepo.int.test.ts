import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { ModelProvider, ModelReply } from '../../src/actors/ports/modelProvider.js';
import type { AgentSystem } from '../../src/system.js';
import { freshSchema } from '../support/testDb.js';
import { testSystem } from '../support/system.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

/**
 * Two stores on one repository: an embedded store in one terminal and `DATABASE_URL` set in
 * another, say. A new user ran `cadre workspaces cleanup` on the second while an agent of the
 * first worked: its worktree and branch were removed ("the agent is not in this store"), its next
 * write_file failed, and the run still ended completed. What a store does not know is another's
 * to judge: neither cleanup nor another store's start-up touches it, and the agent's work lands.
 */
const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (id: string, name: string, input: Record<string, unknown>): ModelReply => ({ model: 'm', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id, name, input }] });

/** Writes a file, then finishes; its first call waits until `release` so the other store acts meanwhile. */
function writerModel(gate: Promise<void>, asked: () => void): ModelProvider {
  let turn = 0;
  return {
    name: 'two-stores', isLLM: false, defaultModel: 'm',
    estimateInputTokens: () => 100,
    complete: async () => {
      turn += 1;
      if (turn === 1) {
        asked();
        await gate;
        return reply('w', 'write_file', { path: 'work.txt', content: 'the agent\'s work\n' });
      }
      return reply('f', 'finish', { output: 'written' });
    },
  };
}

describe('two stores on one repository', () => {
  let repo: TempRepo;
  const systems: AgentSystem[] = [];
  beforeEach(() => { repo = createTempRepo({ prefix: 'cadre-two-stores-' }); });
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.close().catch(() => {});
    repo.cleanup();
  });

  it("neither the other store's cleanup nor its start-up removes a working agent's worktree, and the agent's work lands", { timeout: 120_000 }, async () => {
    const workspace = { repo: repo.path, basePath: repo.basePath };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calling!: () => void;
    const called = new Promise<void>((r) => (calling = r));
    const first = await testSystem('postgres', { schema: freshSchema('two_a'), model: writerModel(gate, () => calling()), workspace });
    systems.push(first);
    const agent = await first.spawn({ role: 'writer', task: 'write work.txt', budget: 10_000, workspace: true });
    const running = agent.run();
    await called;
    const created = (await first.history(agent.id)).find((e) => e.type === 'WorkspaceCreated');
    const path = (created?.data as { path: string } | undefined)?.path;
    expect(path && existsSync(path)).toBe(true);

    // The second store: an agent of its own that asked for a worktree makes its start-up reconcile them.
    const secondSchema = freshSchema('two_b');
    const other = await testSystem('postgres', { schema: secondSchema, model: writerModel(new Promise(() => {}), () => {}), workspace });
    await other.spawn({ role: 'other', task: 'wait', budget: 10_000, workspace: true });
    await other.close();
    const second = await testSystem('postgres', { schema: secondSchema, workspace });
    systems.push(second);
    expect(existsSync(path!), "the second store's start-up left it").toBe(true);
    const dry = await second.workspaces.cleanup({ dryRun: true });
    expect(dry.entries.filter((e) => e.agentId === agent.id).map((e) => [e.kind, e.action, e.reason])).toEqual([['worktree', 'keep', 'unknown'], ['branch', 'keep', 'unknown']]);
    await second.workspaces.cleanup();
    expect(existsSync(path!)).toBe(true);

    release();
    const result = await running;
    expect(result.status).toBe('completed');
    const history = await first.history(agent.id);
    const committed = history.find((e) => e.type === 'WorkspaceCommitted');
    expect(committed, history.map((e) => e.type).join(', ')).toBeDefined();
    expect(repo.git(['show', `agents/${agent.id}:work.txt`])).toBe("the agent's work");
  });
});
