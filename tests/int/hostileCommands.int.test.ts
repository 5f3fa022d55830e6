import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { testSystem } from '../support/system.js';
import { createRepoWithEscape } from '../support/gitRepo.js';

/**
 * `run_command` as a prompt-injected model would use it: off by default; when on, only
 * allow-listed programs, run in the worktree with a clean environment, killed at the time limit,
 * and refused when an argument names a place outside the worktree.
 */
const repo = createRepoWithEscape('cadre-hostile-cmd-');
const outside = repo.outside;
afterAll(() => repo.cleanup());

const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
type Call = { command: string; args: string[] };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });
const script = (calls: Call[]) =>
  createScriptedProvider((_r: ModelRequest, i: number) =>
    i === 0
      ? reply(calls.map((c, n) => ({ type: 'tool_use' as const, id: `toolu_${n}`, name: 'run_command', input: c })))
      : reply([{ type: 'tool_use', id: 'toolu_end', name: 'finish', input: { output: 'done' } }]),
  );

async function runWith(calls: Call[], options: { allowCommands?: boolean; allowedCommands?: string[]; commandTimeoutMs?: number }) {
  // On Postgres (a fresh schema): the store is incidental to which commands run, and an
  // in-memory PGlite per call was most of this file's time.
  const system = await testSystem('postgres', { model: script(calls), workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' }, ...options });
  try {
    const agent = await system.spawn({ role: 'operator', task: 'run things', budget: 200_000, workspace: true });
    const result = await agent.run();
    const returned = (await system.history(agent.id)).filter((e) => e.type === 'ToolReturned').map((e) => e.data as { toolUseId: string; isError: boolean; output: string });
    const requested = (await system.history(agent.id)).find((e) => e.type === 'ModelRequested')?.data as { tools?: string[] } | undefined;
    const path = (await agent.state()).workspace?.path ?? '';
    return { result, out: (n: number) => returned.find((r) => r.toolUseId === `toolu_${n}`)!, requested, path };
  } finally {
    await system.close();
  }
}

describe('agent commands', () => {
  it('are off by default: the tool is refused', async () => {
    const r = await runWith([{ command: 'ls', args: [] }], {});
    expect(r.result.status).toBe('completed');
    expect(r.out(0)).toMatchObject({ isError: true });
    expect(r.out(0).output).toMatch(/disabled/);
  });

  it('when on: allow-list, worktree as cwd, clean environment, outside paths refused, time limit', { timeout: 60_000 }, async () => {
    process.env.CADRE_TEST_SECRET = 'sk-ant-should-not-leak';
    const calls: Call[] = [
      { command: 'pwd', args: [] },
      { command: 'env', args: [] },
      { command: 'rm', args: ['-rf', '.'] },
      { command: '/bin/ls', args: [] },
      { command: 'ls', args: ['/'] },
      { command: 'ls', args: ['../..'] },
      { command: 'ls', args: ['escape/'] },
      { command: 'ls', args: ['--color=/etc'] },
      { command: 'ls', args: ['~'] },
      { command: 'sh', args: ['-c', 'touch ../pwned'] },
      { command: 'sleep', args: ['30'] },
      { command: 'ls', args: ['-a'] },
    ];
    const t0 = Date.now();
    const r = await runWith(calls, { allowCommands: true, allowedCommands: ['pwd', 'env', 'ls', 'sleep'], commandTimeoutMs: 1500 });
    delete process.env.CADRE_TEST_SECRET;
    expect(r.result.status).toBe('completed');
    expect(r.out(0)).toMatchObject({ isError: false });
    expect(r.out(0).output).toContain(r.path);
    expect(r.out(1).output).not.toContain('sk-ant-should-not-leak');
    expect(r.out(1).output).toMatch(/PATH=/);
    for (const n of [2, 3, 9]) expect(r.out(n).output, calls[n]!.command).toMatch(/not in the allow-list/);
    for (const n of [4, 5, 6, 7, 8]) expect(r.out(n).output, JSON.stringify(calls[n]!.args)).toMatch(/outside the worktree/);
    expect(r.out(10).output).toMatch(/killed after 1500 ms/);
    expect(r.out(11)).toMatchObject({ isError: false });
    expect(r.out(11).output).toContain('escape');
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(readdirSync(outside)).toEqual([]);
  });
});
