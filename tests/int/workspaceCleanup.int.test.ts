import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { AgentSystem } from '../../src/system.js';
import type { ModelProvider, ModelReply } from '../../src/actors/ports/modelProvider.js';
import type { CleanupPolicy } from '../../src/actors/cleanupPolicy.js';
import { ModelError } from '../../src/errors.js';
import { freshSchema } from '../support/testDb.js';
import { testSystem } from '../support/system.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const finish = (output: string): ModelReply => ({ model: 'm', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'fin', name: 'finish', input: { output } }] });

/**
 * The model for one process: `done` finishes, `broken` fails (a model error that is not
 * retried), `stopped` and (in the first process) `later` wait until their call is aborted,
 * so `stopped` can be terminated and `later` is still live when the process closes.
 */
function model(waiting: Set<string>, laterHangs: boolean): ModelProvider {
  return {
    name: 'cleanup-test', isLLM: false, defaultModel: 'm',
    estimateInputTokens: () => 100,
    complete: (req, o) => {
      const role = req.agent!.role;
      if (role === 'done' || (role === 'later' && !laterHangs)) return Promise.resolve(finish(`${role} finished`));
      if (role === 'broken') return Promise.reject(new ModelError('the model is broken'));
      return new Promise((_, reject) => {
        waiting.add(req.agent!.id);
        o?.signal?.addEventListener('abort', () => reject(new Error('aborted')));
      });
    },
  };
}

async function until(what: string, ok: () => boolean): Promise<void> {
  // Polls a condition the system's own events make true (no fixed sleep decides the outcome).
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

/** What the runtime did with each worktree, as a user sees it: is the folder still there? */
const kept = async (system: AgentSystem, ids: Record<string, string>): Promise<Record<string, boolean>> => {
  const out: Record<string, boolean> = {};
  for (const [name, id] of Object.entries(ids)) {
    const created = (await system.history(id)).find((e) => e.type === 'WorkspaceCreated');
    if (!created) throw new Error(`${name} never recorded its worktree`);
    out[name] = existsSync((created.data as { path: string }).path);
  }
  return out;
};

describe("the runtime's worktree cleanup, per policy, at an agent's end and at the next start", () => {
  let repo: TempRepo;
  beforeEach(() => { repo = createTempRepo(); });
  afterEach(() => repo.cleanup());

  // What each policy keeps for agents that completed, failed and were terminated.
  const expected: Record<CleanupPolicy, { done: boolean; broken: boolean; stopped: boolean }> = {
    on_completion: { done: false, broken: false, stopped: false },
    on_failure: { done: false, broken: true, stopped: true },
    never: { done: true, broken: true, stopped: true },
  };

  for (const policy of ['on_completion', 'on_failure', 'never'] as const) {
    it(`${policy}: the end of each agent, then a restart with a live agent (startup reconciliation)`, async () => {
      const schema = freshSchema('wsc');
      const workspace = { repo: repo.path, basePath: repo.basePath, cleanup: policy };
      const waiting = new Set<string>();
      const first = await testSystem('postgres', { schema, model: model(waiting, true), workspace });
      const ids: Record<string, string> = {};
      for (const role of ['done', 'broken', 'stopped', 'later']) ids[role] = (await first.spawn({ role, task: `be ${role}`, budget: 10_000, workspace: true })).id;
      expect((await first.run(ids.done!)).status).toBe('completed');
      expect((await first.run(ids.broken!)).status).toBe('failed');
      const stopping = first.run(ids.stopped!);
      void first.run(ids.later!).catch(() => {});
      await until('the calls to hang', () => waiting.has(ids.stopped!) && waiting.has(ids.later!));
      await first.terminate(ids.stopped!, 'stopped by the test');
      expect((await stopping).status).toBe('terminated');
      const ended = { done: ids.done!, broken: ids.broken!, stopped: ids.stopped! };
      expect(await kept(first, ended)).toEqual(expected[policy]);
      await first.close();

      // A new process on the same store: `later` is still live with its worktree, so start-up
      // reconciles the worktrees on disk; the ended agents' worktrees keep the policy's verdict.
      const second = await testSystem('postgres', { schema, model: model(waiting, false), workspace });
      try {
        expect(await kept(second, ended)).toEqual(expected[policy]);
        expect((await second.run(ids.later!)).status).toBe('completed');
        expect(await kept(second, ended)).toEqual(expected[policy]);
      } finally {
        await second.close();
      }
    });
  }

  it('a worktree kept by one policy follows the new policy at the next start, by how its agent ended', async () => {
    const schema = freshSchema('wsc');
    const waiting = new Set<string>();
    const first = await testSystem('postgres', { schema, model: model(waiting, true), workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
    const ids: Record<string, string> = {};
    for (const role of ['done', 'broken', 'later']) ids[role] = (await first.spawn({ role, task: `be ${role}`, budget: 10_000, workspace: true })).id;
    await first.run(ids.done!);
    await first.run(ids.broken!);
    void first.run(ids.later!).catch(() => {});
    await until('the call to hang', () => waiting.has(ids.later!));
    await first.close();
    const second = await testSystem('postgres', { schema, model: model(waiting, false), workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'on_failure' } });
    try {
      expect(await kept(second, { done: ids.done!, broken: ids.broken! })).toEqual({ done: false, broken: true });
    } finally {
      await second.close();
    }
  });
});
