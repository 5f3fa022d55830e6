import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';
import { branchDiff } from '../../src/cli/branchDiff.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import type { AgentSystem } from '../../src/system.js';
import { checkTreeAtRest, treeOf } from '../support/actorsInvariants.js';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem } from '../support/system.js';
import { nodeStarts } from '../support/nodeEvents.js';

/**
 * Issue 22's done-when: the demo workflow (tdd-workflow, with worktrees) runs on the offline
 * model; its `implement` node is forked at the revision just before its last model reply with
 * another (scripted) model, and the fork runs to its end.
 */
const usage = { inputTokens: 300, outputTokens: 40, cacheReadTokens: 0, cacheCreationTokens: 0 };
const finish = (output: string): ModelReply => ({ model: 'fork-model', content: [{ type: 'tool_use', id: 'toolu_fork_fin', name: 'finish', input: { output } }], stopReason: 'tool_use', usage });

describe('forking the demo workflow\'s implement node', () => {
  let system: AgentSystem;
  let repo: ReturnType<typeof createTempRepo>;
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo.path, encoding: 'utf8' }).trim();

  beforeAll(async () => {
    repo = createTempRepo();
    const offline = createOfflineProvider({ latencyMs: 0 });
    const model = createScriptedProvider((r) => (r.model === 'fork-model' ? finish('implemented, another way') : offline.complete(r)));
    system = await testSystem('postgres', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'never' } });
  });
  afterAll(async () => {
    await system.close();
    repo.cleanup();
  });

  it('leaves the source byte for byte, carries forkedFrom, conserves both trees and branches from the source\'s commit at the cut', { timeout: 120_000 }, async () => {
    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000, workspace: true });
    expect((await wf.run()).status).toBe('completed');
    const implement = nodeStarts(await system.history(wf.id)).find((n) => n.nodeId === 'implement')!.childId;
    const tree = await treeOf(system, wf.id);
    const snapshot = async () => JSON.stringify(await Promise.all(tree.map(async (id) => [await system.history(id), await system.replay(id)])));
    const before = await snapshot();

    const history = await system.history(implement);
    const at = history.findLastIndex((e) => e.type === 'ModelReplied') - 1;
    // The commit the source's history records at or before the cut (its worktree's base here).
    const recorded = history.slice(0, at + 1).flatMap((e) => (e.type === 'WorkspaceCreated' ? [e.data.baseCommit] : e.type === 'WorkspaceCommitted' ? [e.data.commit] : []));
    expect(recorded.length).toBeGreaterThan(0);
    const base = recorded.at(-1)!;

    const fork = await system.fork(implement, { atRevision: at, model: 'fork-model' });
    expect(await fork.run()).toMatchObject({ status: 'completed', output: 'implemented, another way' });

    expect(await snapshot()).toBe(before);
    const forked = await system.history(fork.id);
    expect(forked[0]).toMatchObject({ type: 'AgentSpawned', data: { agentId: fork.id, parentId: null, role: 'implementer', model: 'fork-model', workspace: { base }, forkedFrom: { sourceId: implement, sourceRevision: at, sourcePosition: String(history[at]!.position) } } });
    // The source's replies up to the cut were carried over (never asked again), then one of its own.
    const replies = (events: typeof history) => events.filter((e) => e.type === 'ModelReplied').length;
    expect(replies(history.slice(0, at + 1))).toBeGreaterThan(0);
    expect(replies(forked)).toBe(replies(history.slice(0, at + 1)) + 1);
    // Its allocation is the source's original one; what the source spent is history, not charged.
    expect((await system.replay(fork.id)).budget).toMatchObject({ allocated: (history[0]!.data as { budget: number }).budget, consumed: usage.inputTokens + usage.outputTokens });
    await checkTreeAtRest(system, wf.id);
    await checkTreeAtRest(system, fork.id);

    const created = forked.find((e) => e.type === 'WorkspaceCreated')!.data as { branch: string; baseCommit: string };
    expect(created).toMatchObject({ branch: `agents/${fork.id}`, baseCommit: base });
    expect(git('merge-base', '--is-ancestor', base, `agents/${fork.id}`)).toBe('');

    // cadre diff's git part: what the source's branch has that the fork's does not.
    const stat = await branchDiff(repo.path, implement, fork.id, true);
    expect(stat).toBe(execFileSync('git', ['diff', '--stat', `agents/${implement}`, `agents/${fork.id}`, '--'], { cwd: repo.path, encoding: 'utf8' }));
    expect(stat).toMatch(/file.* changed/);
    expect(await branchDiff(repo.path, implement, 'no-such-agent', true)).toBeNull();
    // A diff program named in the repository's config is not run: git's own diff is shown.
    const dir = mkdtempSync(join(tmpdir(), 'cadre-extdiff-'));
    const script = join(dir, 'extdiff.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${join(dir, 'ran')}\n`, { mode: 0o755 });
    git('config', 'diff.external', script);
    try {
      expect(await branchDiff(repo.path, implement, fork.id, false)).toMatch(/^diff --git /m);
      expect(existsSync(join(dir, 'ran'))).toBe(false);
    } finally {
      git('config', '--unset', 'diff.external');
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await branchDiff(null, implement, fork.id, true)).toBeNull();
  });
});
