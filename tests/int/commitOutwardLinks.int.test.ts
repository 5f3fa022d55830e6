import { symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * A model made a symbolic link to a file outside (`git apply` of a 120000 patch) and cadre
 * committed it on the agent's branch, to be merged into yours (an attacker's try). Links an agent
 * adds or changes that lead outside the repository are left out of its commit, and named in the
 * message; links inside, and links the repository already held, are committed as they are.
 */
describe("an agent's commit and the symbolic links it made", () => {
  const repo = createTempRepo({ prefix: 'cadre-outward-', files: { 'README.md': '# r\n', 'docs/a.md': 'a\n' } });
  symlinkSync('/etc', join(repo.path, 'held'));
  repo.git(['add', '--all']);
  repo.git(['commit', '-q', '-m', 'a link the repository holds']);
  afterAll(() => repo.cleanup());

  it('leaves out the links that lead outside, commits the rest', async () => {
    const ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
    const wt = (await ws.create('a1')).path;
    writeFileSync(join(wt, 'work.txt'), 'work\n');
    symlinkSync('/etc/passwd', join(wt, 'abs'));
    symlinkSync('../../secret.txt', join(wt, 'docs', 'up'));
    symlinkSync('a.md', join(wt, 'docs', 'inside'));
    symlinkSync('../README.md', join(wt, 'docs', 'readme'));
    unlinkSync(join(wt, 'held'));
    symlinkSync('/usr', join(wt, 'held')); // a link the repository held, changed to lead elsewhere outside
    const c = await ws.commit('a1', 'the work');
    expect([...(c?.files ?? [])].sort()).toEqual(['docs/inside', 'docs/readme', 'work.txt']);
    const tree = repo.git(['ls-tree', '-r', '--name-only', 'agents/a1']).split('\n');
    expect(tree).toEqual(expect.arrayContaining(['work.txt', 'docs/inside', 'docs/readme', 'held']));
    expect(tree).not.toContain('abs');
    expect(tree).not.toContain('docs/up');
    expect(repo.git(['cat-file', '-p', 'agents/a1:held'])).toBe('/etc'); // as the repository held it
    expect(repo.git(['log', '-1', '--format=%B', 'agents/a1'])).toMatch(/Left out, symbolic links that lead outside the repository: "abs", "docs\/up", "held"/);
  });
});
