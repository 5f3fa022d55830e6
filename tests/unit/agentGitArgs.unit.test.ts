import { describe, expect, it } from 'vitest';
import { agentGitArgs } from '../../src/infra/workspace/agentGitArgs.js';

/** What follows the safety overrides: the agent's own command as git gets it. */
const own = (args: string[]): string[] => {
  const all = agentGitArgs(args);
  return all.slice(all.indexOf(args[0]!));
};

describe("an agent's git arguments (a hostile-model try, 2026-12-07)", () => {
  it('refuses a merge strategy git does not have built in: it runs git-merge-<name>, a path with a /', () => {
    for (const args of [
      ['cherry-pick', '--strategy=x/y', 'HEAD~1'],
      ['cherry-pick', '--strategy', 'q/r', 'HEAD~1'],
      ['revert', '--strategy=x/y', 'HEAD'],
      ['merge', '-s', 'x/y', 'main'],
      ['merge', '-sx/y', 'main'],
      ['merge', '-ns', 'x/y', 'main'],
      ['merge', '--strategy=evil', 'main'],
    ]) expect(() => agentGitArgs(args), args.join(' ')).toThrow(/only a built-in merge strategy/);
    expect(own(['merge', '--strategy=ort', '-X', 'theirs', 'main'])).toEqual(['merge', '--strategy=ort', '-X', 'theirs', 'main']);
    expect(own(['merge', '-s', 'ours', 'main'])).toEqual(['merge', '-s', 'ours', 'main']);
    // Elsewhere -s is --signoff, and --strategy-option passes an option to a built-in one.
    expect(own(['cherry-pick', '-s', 'HEAD~1'])).toEqual(['cherry-pick', '-s', 'HEAD~1']);
    expect(own(['cherry-pick', '--strategy-option=theirs', 'HEAD~1'])).toEqual(['cherry-pick', '--strategy-option=theirs', 'HEAD~1']);
  });

  it('lets branch and tag list, never make a ref: a tag `main` shadowed the user\'s branch for `git merge main`', () => {
    for (const args of [['tag', 'main', 'HEAD'], ['branch', 'origin/main', 'HEAD~1'], ['branch', 'feature'], ['tag', '-a', 'v2'], ['tag', '--', 'main']]) {
      expect(() => agentGitArgs(args), args.join(' ')).toThrow(/may list .*, not make one/);
    }
    for (const args of [['branch'], ['branch', '-a'], ['branch', '-vv'], ['branch', '--list', 'agents/*'], ['branch', '--contains', 'HEAD'], ['tag'], ['tag', '-l', 'v*'], ['tag', '-n3'], ['tag', '--points-at', 'HEAD']]) {
      expect(own(args), args.join(' ')).toEqual(args);
    }
  });

  it('runs an agent\'s diff without an external diff (the emptied diff.external made every one fail)', () => {
    expect(own(['diff', 'a.txt'])).toEqual(['diff', '--no-ext-diff', 'a.txt']);
  });

  it('git apply: one patch file, no fake-ancestor index (two patches redirected its second write outside)', () => {
    expect(() => agentGitArgs(['apply', '--build-fake-ancestor=d/run.sh', '--apply', 'p1.patch'])).toThrow(/not allowed for agents/);
    expect(() => agentGitArgs(['apply', 'p1.patch', 'p2.patch'])).toThrow(/one patch file at a time/);
    expect(() => agentGitArgs(['apply', 'p3.patch', 'e2/hostname'])).toThrow(/one patch file at a time/);
    expect(own(['apply', '--index', '-p1', 'p.patch'])).toEqual(['apply', '--index', '-p1', 'p.patch']);
  });

  it('every agent git runs with no excludes file from HOME and no automatic gc (a commit started a detached gc on the shared repository)', () => {
    const overrides = agentGitArgs(['status']).join(' ');
    for (const c of ['core.excludesFile=/dev/null', 'gc.auto=0', 'maintenance.auto=false', 'core.hooksPath=/dev/null']) expect(overrides).toContain(`-c ${c}`);
  });
});
