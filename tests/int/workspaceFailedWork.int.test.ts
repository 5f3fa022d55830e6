import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { ModelProvider, ModelReply } from '../../src/actors/ports/modelProvider.js';
import { ModelError } from '../../src/errors.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * An agent that failed after writing files lost them: its work was committed only on completion,
 * and the default policy (on_completion) removes every ended agent's worktree, so a model error
 * after twenty files left an empty branch (a trial's). Its work is committed to its branch now,
 * however it ended; a failed child's is not merged into its parent's.
 */
describe('a failed agent’s work', () => {
  let repo: Awaited<ReturnType<typeof createTempRepo>>;
  let system: AgentSystem;
  const usage = { inputTokens: 500, outputTokens: 100, cacheReadTokens: 0, cacheCreationTokens: 0 };
  const model: ModelProvider = {
    name: 'scripted-fail',
    isLLM: true,
    defaultModel: 'scripted',
    estimateInputTokens: () => 100,
    complete: async (request) => {
      const turn = request.messages.filter((m) => m.role === 'assistant').length;
      if (turn > 0) throw new ModelError('the model API answered with a body that is not JSON', { retryable: false });
      const content = [1, 2, 3].map((i) => ({ type: 'tool_use' as const, id: `w${i}`, name: 'write_file', input: { path: `work/part${i}.txt`, content: `important work ${i}\n` } }));
      return { model: 'scripted', stopReason: 'tool_use', usage, content } satisfies ModelReply;
    },
  };
  beforeAll(async () => {
    repo = await createTempRepo();
    system = await testSystem('postgres', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'on_completion' } });
  });
  afterAll(async () => {
    await system.close();
    await repo.cleanup();
  });

  it('is committed to its branch before its worktree goes', async () => {
    const failing = await system.spawn({ role: 'writer', task: 'write the parts', budget: 50_000, workspace: true });
    expect((await failing.run()).status).toBe('failed');
    const types = (await system.history(failing.id)).map((e) => e.type);
    expect(types.indexOf('WorkspaceCommitted')).toBeGreaterThan(types.indexOf('AgentFailed'));
    expect(types.indexOf('WorkspaceRemoved')).toBeGreaterThan(types.indexOf('WorkspaceCommitted'));
    const branch = `agents/${failing.id}`;
    expect((await repo.git(['ls-tree', '-r', '--name-only', branch])).split('\n')).toEqual(expect.arrayContaining(['work/part1.txt', 'work/part2.txt', 'work/part3.txt']));
    expect(await repo.git(['log', '-1', '--format=%s', branch])).toBe('writer (failed): write the parts');
  });
});
