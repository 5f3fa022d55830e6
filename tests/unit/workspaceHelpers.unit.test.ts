import { describe, expect, it } from 'vitest';
import { shouldRemove, type AgentOutcome, type CleanupPolicy } from '../../src/actors/cleanupPolicy.js';
import { globMatcher } from '../../src/infra/workspace/globPattern.js';
import { parseWorktreeList, splitNul } from '../../src/infra/workspace/worktreeList.js';
import { agentIdOfBranch, parseAgentId } from '../../src/infra/workspace/agentBranch.js';
import { createKeyedLocks } from '../../src/infra/workspace/repoLock.js';
import { InvalidInput } from '../../src/errors.js';

describe('shouldRemove', () => {
  const table: Array<[CleanupPolicy, AgentOutcome, boolean]> = [
    ['on_completion', 'completed', true],
    ['on_completion', 'failed', true],
    ['on_completion', 'terminated', true],
    ['on_failure', 'completed', true],
    ['on_failure', 'failed', false],
    ['on_failure', 'terminated', false],
    ['never', 'completed', false],
    ['never', 'failed', false],
    ['never', 'terminated', false],
  ];
  it.each(table)('%s + %s → %s', (policy, outcome, expected) => {
    expect(shouldRemove(policy, outcome)).toBe(expected);
  });
});

describe('globMatcher', () => {
  it.each([
    ['*.ts', 'a.ts', true],
    ['*.ts', 'src/deep/a.ts', true],
    ['*.ts', 'a.tsx', false],
    ['src/*.ts', 'src/a.ts', true],
    ['src/*.ts', 'src/x/a.ts', false],
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/x/y/a.ts', true],
    ['**/*.{md,txt}', 'docs/a.txt', true],
    ['?.md', 'a.md', true],
    ['[ab].md', 'c.md', false],
    ['[!ab].md', 'c.md', true],
    ['a+b.md', 'a+b.md', true],
  ])('%s matches %s: %s', async (glob, path, expected) => {
    expect((await globMatcher(glob)).test(path)).toBe(expected);
  });

  it('is linear: 40 stars against a name of 200 letters answers at once (a V8 RegExp backtracked for minutes)', async () => {
    const m = await globMatcher(`${'*a'.repeat(40)}b`);
    const started = performance.now();
    expect(m.test('a'.repeat(200))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('parseWorktreeList', () => {
  it('reads branches, locks and prunable entries', () => {
    const out =
      'worktree /r\0HEAD aaa\0branch refs/heads/main\0\0' +
      'worktree /w/a\0HEAD bbb\0branch refs/heads/agents/a\0locked initializing\0\0' +
      'worktree /w/b\0HEAD ccc\0detached\0prunable gitdir file points to non-existent location\0\0';
    const entries = parseWorktreeList(out);
    expect(entries).toHaveLength(3);
    expect(entries[1]).toMatchObject({ path: '/w/a', branch: 'refs/heads/agents/a', locked: 'initializing' });
    expect(entries[2]).toMatchObject({ detached: true, branch: undefined, prunable: expect.stringContaining('gitdir') });
    expect(splitNul('a\0b\0')).toEqual(['a', 'b']);
  });
});

describe('agent ids', () => {
  it('maps branches to ids and refuses unsafe ids', () => {
    expect(agentIdOfBranch('refs/heads/agents/a-1')).toBe('a-1');
    expect(agentIdOfBranch('agents/x')).toBe('x');
    expect(agentIdOfBranch('refs/heads/main')).toBeUndefined();
    for (const bad of ['../x', 'a/b', '-a', 'a.lock', '', 'a..b', 'a b']) expect(() => parseAgentId(bad)).toThrow(InvalidInput);
  });
});

describe('createKeyedLocks', () => {
  it('runs holders of one key one at a time, other keys in parallel, and forgets drained keys', async () => {
    const locks = createKeyedLocks();
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    // The first holder keeps the key until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const job = (i: number) =>
      locks.withLock('k', async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        if (i === 0) await held;
        else await Promise.resolve();
        order.push(i);
        inside--;
      });
    const jobs = [job(0), job(1), job(2)];
    // Another key runs while `k` is held.
    expect(await locks.withLock('other', async () => inside)).toBe(1);
    expect(order).toEqual([]);
    release();
    await Promise.all(jobs);
    expect(maxInside).toBe(1);
    expect(order).toEqual([0, 1, 2]);
    await expect(locks.withLock('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.withLock('k', async () => 'still works')).toBe('still works');
    expect(locks.activeKeys()).toEqual([]);
  });
});
