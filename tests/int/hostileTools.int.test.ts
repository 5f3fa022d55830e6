import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { testSystem } from '../support/system.js';
import { createRepoWithEscape } from '../support/gitRepo.js';

/**
 * A model (scripted here, a prompt-injected LLM in life) asks for file tools with paths that try
 * to leave its worktree: `..`, absolute paths, a symlink committed in the repository that points
 * outside, NUL bytes, `.git`. Every call is refused with an error result naming the path, nothing
 * is written outside, and the agent carries on to finish normally.
 */
const repo = createRepoWithEscape('cadre-hostile-tools-');
const outside = repo.outside;
afterAll(() => repo.cleanup());

const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });

const evilPath = fc.oneof(
  fc.constantFrom('../x', '../../../../etc/passwd', '/etc/passwd', `${outside}/pwned`, 'escape/pwned', 'escape/../../pwned', 'a/../../pwned', '.git/config', '.git/hooks/pre-commit', 'ok\u0000../../pwned', '\u0000', './../pwned'), // ('~/x' is a folder named ~ inside: allowed)
  fc.array(fc.constantFrom('..', '.', 'a', 'escape'), { minLength: 2, maxLength: 6 }).map((p) => `${p.join('/')}/pwned`)
    // Only those that still leave once `..` is resolved lexically (as cadre resolves it): `escape/../x` is `x`, inside.
    .filter((p) => /^(\.\.|escape)(\/|$)/.test(posix.normalize(p))),
);

describe('tool calls that try to leave the workspace', () => {
  it('are refused one by one, nothing lands outside, and the agent finishes', { timeout: 240_000 }, async () => {
    const paths = fc.sample(evilPath, 40);
    const tools = ['write_file', 'read_file', 'list_files'] as const;
    const calls = paths.map((p, i) => {
      const name = tools[i % tools.length]!;
      return { type: 'tool_use' as const, id: `toolu_${i}`, name, input: name === 'write_file' ? { path: p, content: 'pwned' } : name === 'read_file' ? { path: p } : { dir: p } };
    });
    const model = createScriptedProvider((_r: ModelRequest, i: number) =>
      i === 0 ? reply(calls) : reply([{ type: 'tool_use', id: 'toolu_finish', name: 'finish', input: { output: 'stayed inside' } }]),
    );
    // On Postgres (a fresh schema): the store is incidental to where the tools may reach.
    const system = await testSystem('postgres', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
    try {
      const agent = await system.spawn({ role: 'intruder', task: 'escape', budget: 200_000, workspace: true });
      const result = await agent.run();
      expect(result.status).toBe('completed');
      const returned = (await system.history(agent.id)).filter((e) => e.type === 'ToolReturned').map((e) => e.data as { toolUseId: string; isError: boolean; output: string });
      for (const [i, call] of calls.entries()) {
        const r = returned.find((x) => x.toolUseId === call.id);
        expect(r, call.id).toBeDefined();
        const p = paths[i]!;
        // The symlink itself may be listed or read as a link name only if it stays inside: it never is here.
        expect(r!.isError, `${call.name} ${JSON.stringify(p)} was allowed: ${r!.output.slice(0, 200)}`).toBe(true);
        expect(r!.output.length).toBeGreaterThan(0);
        expect(r!.output).not.toContain('root:x:0:0'); // no /etc/passwd content leaked
      }
      expect(readdirSync(outside), 'files written outside the worktree').toEqual([]);
      expect(existsSync(join(repo.dir, 'pwned'))).toBe(false);
      console.log(`[hostile] tool calls refused: ${calls.length} (${paths.length} paths)`);
    } finally {
      await system.close();
    }
  });
});
