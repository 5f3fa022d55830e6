import { afterAll, describe, expect, it } from 'vitest';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { NUL_REPLACEMENT } from '../../src/actors/storableReply.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * A binary file in the repository, read by a tool: its NUL bytes made the tool's result one the
 * store refuses ("contains U+0000 ... cannot be stored"), and the agent failed (a hostile-model
 * try; any repository with an image in it would do). The result is stored with each NUL replaced,
 * as a model's reply is, and the agent goes on.
 */
describe('a tool whose output holds bytes JSON cannot store', () => {
  const repo = createTempRepo({ prefix: 'cadre-binary-', files: { 'bin.dat': 'PNG\u0000\u0001\u0002binary' } });
  afterAll(() => repo.cleanup());
  const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
  const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });

  it('is stored with its NULs replaced, and the agent finishes (read_file, and cat through run_command)', async () => {
    const model = createScriptedProvider((_r: ModelRequest, i: number) =>
      i === 0
        ? reply([
            { type: 'tool_use', id: 'toolu_read', name: 'read_file', input: { path: 'bin.dat' } },
            { type: 'tool_use', id: 'toolu_cat', name: 'run_command', input: { command: 'cat', args: ['bin.dat'] } },
          ])
        : reply([{ type: 'tool_use', id: 'toolu_finish', name: 'finish', input: { output: 'read it' } }]),
    );
    const system = await testSystem('postgres', { model, allowCommands: true, workspace: { repo: repo.path, basePath: repo.basePath } });
    try {
      const agent = await system.spawn({ role: 'reader', task: 'read the binary file', budget: 50_000, workspace: true });
      const result = await agent.run();
      expect(result.status, result.reason ?? '').toBe('completed');
      const returned = (await system.history(agent.id)).flatMap((e) => (e.type === 'ToolReturned' ? [e.data] : []));
      for (const id of ['toolu_read', 'toolu_cat']) {
        const r = returned.find((x) => x.toolUseId === id);
        expect(r?.isError, `${id}: ${r?.output}`).toBe(false);
        expect(r?.output).toContain(`PNG${NUL_REPLACEMENT}`);
        expect(r?.output).toContain('binary');
      }
    } finally {
      await system.close();
    }
  });
});
