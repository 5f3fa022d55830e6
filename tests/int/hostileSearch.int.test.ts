import { afterAll, describe, expect, it } from 'vitest';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createWorkspaceFiles } from '../../src/infra/workspace/workspaceFiles.js';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem } from '../support/system.js';

/**
 * Issue 17, case 3: a model's catastrophic regex must not freeze the process. `^(a+)+$` against
 * 40 `a`s and a `!` takes V8's backtracking engine ~2^40 steps; every agent, timer and lease of
 * the process would stop. Search is literal by default and regexes run on RE2 (linear time).
 */
const repo = createTempRepo({ prefix: 'cadre-hostile-search-' });
afterAll(() => repo.cleanup());
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });
const EVIL = `${'a'.repeat(40)}!`;

describe('search_files from a hostile model', () => {
  it('keeps the event loop under 100 ms of delay while ^(a+)+$ runs in regex mode on 40 a\'s and a !', { timeout: 60_000 }, async () => {
    const model = createScriptedProvider((_r, i) =>
      [
        reply([{ type: 'tool_use', id: 'toolu_w', name: 'write_file', input: { path: 'evil.txt', content: `${EVIL}\n` } }]),
        reply([
          { type: 'tool_use', id: 'toolu_re', name: 'search_files', input: { pattern: '^(a+)+$', regex: true } },
          { type: 'tool_use', id: 'toolu_lit', name: 'search_files', input: { pattern: 'a!' } },
          { type: 'tool_use', id: 'toolu_lit_re', name: 'search_files', input: { pattern: '(a+)+' } },
        ]),
      ][i] ?? reply([{ type: 'tool_use', id: 'toolu_end', name: 'finish', input: { output: 'done' } }]),
    );
    // On the suite's Postgres (a fresh schema): the store is incidental to what search may reach.
    const system = await testSystem('postgres', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
    try {
      const agent = await system.spawn({ role: 'searcher', task: 'search', budget: 200_000, workspace: true });
      const result = await agent.run();
      expect(result.status).toBe('completed');
      const out = (id: string) => (system.history(agent.id).then((h) => h.find((e) => e.type === 'ToolReturned' && (e.data as { toolUseId: string }).toolUseId === id)!.data as { output: string }));
      expect((await out('toolu_re')).output).toBe('no matches');
      expect((await out('toolu_lit')).output).toBe(`evil.txt:1: ${EVIL}`);
      expect((await out('toolu_lit_re')).output).toBe('no matches'); // literal by default
      // The delay measured around the search alone (the rest of a model turn on a loaded 2-core
      // machine — PGlite, git — has pauses of its own that say nothing about the regex).
      const files = createWorkspaceFiles((await agent.state()).workspace!.path);
      await files.search('warm-up', { regex: true });
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const probe = setInterval(() => undefined, 5);
      const found = await files.search('^(a+)+$', { regex: true });
      await new Promise((r) => setTimeout(r, 30)); // let the monitor take a sample after the search
      clearInterval(probe);
      delay.disable();
      expect(found.matches).toEqual([]);
      expect(delay.max / 1e6).toBeLessThan(100);
    } finally {
      await system.close();
    }
  });
});
