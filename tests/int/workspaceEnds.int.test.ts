import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentSystem } from '../../src/system.js';
import type { ModelProvider, ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { ModelError } from '../../src/errors.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';

/** A system on the suite's Postgres with worktrees in a fresh repository, the default cleanup policy, and `model`. */
function repoSystem(model: ModelProvider, files?: Record<string, string>): { readonly repo: Awaited<ReturnType<typeof createTempRepo>>; readonly system: AgentSystem } {
  const s = {} as { repo: Awaited<ReturnType<typeof createTempRepo>>; system: AgentSystem };
  beforeAll(async () => {
    s.repo = await createTempRepo(files ? { files } : {});
    s.system = await testSystem('postgres', { model, workspace: { repo: s.repo.path, basePath: s.repo.basePath, cleanup: 'on_completion' } });
  });
  afterAll(async () => {
    await s.system?.close();
    await s.repo?.cleanup();
  });
  return s;
}

const usage = { inputTokens: 500, outputTokens: 100, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (id: string, name: string, input: unknown): ModelReply['content'][number] => ({ type: 'tool_use', id, name, input });

/**
 * A model that keeps every request in `requests` and answers each with `answer(turn, task)`:
 * `turn` counts its earlier replies in the conversation, `task` is its first message as JSON.
 */
function scriptedModel(requests: ModelRequest[], answer: (turn: number, task: string) => ModelReply['content']): ModelProvider {
  return {
    name: 'scripted',
    isLLM: true,
    defaultModel: 'scripted',
    estimateInputTokens: () => 100,
    complete: async (request) => {
      requests.push(request);
      const turn = request.messages.filter((m) => m.role === 'assistant').length;
      return { model: 'scripted', stopReason: 'tool_use', usage, content: answer(turn, JSON.stringify(request.messages[0])) };
    },
  };
}

/**
 * A root `writer` with a worktree, spawned with `task` and run to its end (asserted `status`):
 * its id, its event types, and its worktree's path.
 */
async function ended(system: AgentSystem, task: string, status: 'completed' | 'failed'): Promise<{ id: string; types: string[]; path: string }> {
  const agent = await system.spawn({ role: 'writer', task, budget: 50_000, workspace: true });
  expect((await agent.run()).status).toBe(status);
  const history = await system.history(agent.id);
  const path = (history.find((e) => e.type === 'WorkspaceCreated')!.data as { path: string }).path;
  return { id: agent.id, types: history.map((e) => e.type), path };
}

/**
 * An agent that failed after writing files lost them: its work was committed only on completion,
 * and the default policy (on_completion) removes every ended agent's worktree, so a model error
 * after twenty files left an empty branch (a trial's). Its work is committed to its branch now,
 * however it ended; a failed child's is not merged into its parent's.
 */
describe('a failed agent’s work', () => {
  const model = scriptedModel([], (turn, task) => {
    if (turn > 0) throw new ModelError('the model API answered with a body that is not JSON', { retryable: false });
    // "hide": a .gitignore of `*` first, so that a commit takes nothing (a trial's).
    const files: Array<[string, string]> = task.includes('hide')
      ? [['.gitignore', '*\n'], ['g.txt', 'hidden work\n']]
      : [1, 2, 3].map((i) => [`work/part${i}.txt`, `important work ${i}\n`]);
    return files.map(([path, text], i) => call(`w${i}`, 'write_file', { path, content: text }));
  });
  const env = repoSystem(model);

  it('is committed to its branch before its worktree goes', async () => {
    const failing = await env.system.spawn({ role: 'writer', task: 'write the parts', budget: 50_000, workspace: true });
    expect((await failing.run()).status).toBe('failed');
    const types = (await env.system.history(failing.id)).map((e) => e.type);
    expect(types.indexOf('WorkspaceCommitted')).toBeGreaterThan(types.indexOf('AgentFailed'));
    expect(types.indexOf('WorkspaceRemoved')).toBeGreaterThan(types.indexOf('WorkspaceCommitted'));
    const branch = `agents/${failing.id}`;
    expect((await env.repo.git(['ls-tree', '-r', '--name-only', branch])).split('\n')).toEqual(expect.arrayContaining(['work/part1.txt', 'work/part2.txt', 'work/part3.txt']));
    expect(await env.repo.git(['log', '-1', '--format=%s', branch])).toBe('writer (failed): write the parts');
  });

  it('that its last commit could not take (all of it ignored) keeps its worktree, with the files', async () => {
    const { types, path } = await ended(env.system, 'hide the parts', 'failed');
    expect(types).not.toContain('WorkspaceRemoved');
    expect(readFileSync(join(path, 'g.txt'), 'utf8')).toBe('hidden work\n');
  });
});

/**
 * Two children spawned by the model's spawn_agent, both writing same.txt: the second's merge
 * conflicts. Its spawn_agent result said only `completed`, so the parent's model went on believing
 * the work was in its worktree (a trial's). The result now says it was not merged, and where it is.
 */
describe('a child whose work conflicted on merge', () => {
  const requests: ModelRequest[] = [];
  const model = scriptedModel(requests, (turn, task) => {
    if (/lead the two/.test(task)) {
      if (turn === 0) return [call('s1', 'spawn_agent', { role: 'one', task: 'write one', budget: 10_000 }), call('s2', 'spawn_agent', { role: 'two', task: 'write two', budget: 10_000 })];
      return [call('f', 'finish', { output: 'done' })];
    }
    const who = /write (one|two)/.exec(task)?.[1] ?? 'x';
    if (turn === 0) return [call('w', 'write_file', { path: 'same.txt', content: `by ${who}\n` })];
    return [call('f', 'finish', { output: `${who} done` })];
  });
  const env = repoSystem(model);

  it('is told to the parent’s model in the spawn_agent result, with the child’s branch', async () => {
    const lead = await env.system.spawn({ role: 'lead', task: 'lead the two', budget: 60_000, workspace: true });
    expect((await lead.run()).status).toBe('completed');
    const types = (await env.system.history(lead.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['WorkspaceMerged', 'WorkspaceMergeConflicted']));
    const last = requests.filter((r) => /lead the two/.test(JSON.stringify(r.messages[0]))).at(-1)!;
    const results = JSON.stringify(last.messages.at(-1));
    expect(results).toContain('\\"merge\\":{\\"status\\":\\"merged\\",\\"files\\":1}');
    expect(results).toMatch(/not merged into your worktree: same\.txt conflicted with what is there; its work is on branch agents\/[0-9a-f-]+/);
  });
});

/**
 * A completed root whose final commit failed: with no parent waiting, the failure is logged and
 * the ending goes on, and the default policy then removed the worktree by force, files and all (a
 * trial's). It stays now, with the work a commit would have taken. The commit is made to fail as a
 * crashed git would: an index.lock in the worktree's git folder, put there between the model's
 * write and its finish.
 */
describe('a completed root whose last commit failed', () => {
  const locks: string[] = [];
  const model = scriptedModel([], (turn) => {
    if (turn === 0) return [call('w', 'write_file', { path: 'result.txt', content: 'the only copy\n' })];
    for (const name of readdirSync(env.repo.basePath)) {
      const gitdir = readFileSync(join(env.repo.basePath, name, '.git'), 'utf8').replace(/^gitdir: /, '').trim();
      writeFileSync(join(gitdir, 'index.lock'), '');
      locks.push(join(gitdir, 'index.lock'));
    }
    return [call('f', 'finish', { output: 'done' })];
  });
  const env = repoSystem(model);

  it('keeps its worktree, with the files', async () => {
    const { types, path } = await ended(env.system, 'write the result', 'completed');
    expect(locks.length).toBe(1);
    expect(types).not.toContain('WorkspaceCommitted');
    expect(types).not.toContain('WorkspaceRemoved');
    expect(readFileSync(join(path, 'result.txt'), 'utf8')).toBe('the only copy\n');
  });
});

/**
 * A child the model spawned that failed after writing files: its work is committed to its branch,
 * not merged, and its spawn_agent result said only `failed`, so the parent's model could not tell
 * where the work went (a trial's). It says so now, and names the branch.
 */
describe('a child that failed after writing', () => {
  const requests: ModelRequest[] = [];
  const model = scriptedModel(requests, (turn, task) => {
    if (/lead the writer/.test(task)) {
      if (turn === 0) return [call('s', 'spawn_agent', { role: 'writer', task: 'write and fail', budget: 10_000 })];
      return [call('f', 'finish', { output: 'done' })];
    }
    if (turn === 0) return [call('w', 'write_file', { path: 'half.txt', content: 'half done\n' })];
    throw new ModelError('the model API answered with a body that is not JSON', { retryable: false });
  });
  const env = repoSystem(model);

  it('is told to the parent’s model with the branch its work is on', async () => {
    const lead = await env.system.spawn({ role: 'lead', task: 'lead the writer', budget: 60_000, workspace: true });
    expect((await lead.run()).status).toBe('completed');
    const last = requests.filter((r) => /lead the writer/.test(JSON.stringify(r.messages[0]))).at(-1)!;
    const results = JSON.stringify(last.messages.at(-1));
    const branch = /not merged into your worktree, as it did not complete; the work it had done is committed on branch (agents\/[0-9a-f-]+)/.exec(results)?.[1];
    expect(results).toContain('\\"status\\":\\"failed\\"');
    // And why: `"output": null` alone left the parent's model guessing (a trial's).
    expect(results).toContain('\\"reason\\":\\"model call failed: the model API answered with a body that is not JSON');
    expect(branch).toBeDefined();
    expect(await env.repo.git(['show', `${branch}:half.txt`])).toBe('half done');
  });
});

/**
 * A completed agent whose own .gitignore hid its work: the commit took nothing (or part), and the
 * worktree was removed with the files, nothing said (a trial's `*`, and `*.log` beside a.txt). It
 * stays now. Build output the repository's own .gitignore hides does not hold a worktree back.
 */
describe('a completed agent’s ignored files', () => {
  const model = scriptedModel([], (turn, task) => {
    if (turn > 0) return [call('f', 'finish', { output: 'done' })];
    const files: Array<[string, string]> = task.includes('hide all')
      ? [['work.txt', 'precious work\n'], ['.gitignore', '*\n']]
      : task.includes('hide some')
        ? [['a.txt', 'kept\n'], ['secret.log', 'the log\n'], ['.gitignore', '*.log\n']]
        : [['src.txt', 'source\n'], ['build/out.txt', 'built\n']];
    return files.map(([path, content], i) => call(`w${i}`, 'write_file', { path, content }));
  });
  const env = repoSystem(model, { '.gitignore': 'build/\n', 'README.md': 'repo\n' });

  it('keeps its worktree when its own .gitignore hid all of its work', async () => {
    const { types, path } = await ended(env.system, 'hide all', 'completed');
    expect(types).not.toContain('WorkspaceRemoved');
    expect(readFileSync(join(path, 'work.txt'), 'utf8')).toBe('precious work\n');
  });

  it('keeps it when its .gitignore hid part of it, the rest committed', async () => {
    const { id, types, path } = await ended(env.system, 'hide some', 'completed');
    expect(types).toContain('WorkspaceCommitted');
    expect(types).not.toContain('WorkspaceRemoved');
    expect(await env.repo.git(['show', `agents/${id}:a.txt`])).toBe('kept');
    expect(readFileSync(join(path, 'secret.log'), 'utf8')).toBe('the log\n');
  });

  it('removes it when only build output the repository ignores is left', async () => {
    const { id, types } = await ended(env.system, 'build it', 'completed');
    expect(types).toContain('WorkspaceRemoved');
    expect(await env.repo.git(['show', `agents/${id}:src.txt`])).toBe('source');
  });
});
