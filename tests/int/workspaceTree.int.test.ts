import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createWorkspaceManager, type WorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import { createWorkspaceFiles } from '../../src/infra/workspace/workspaceFiles.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

interface Node {
  readonly id: string;
  readonly parent: Node | undefined;
  readonly children: Node[];
}

/** 1 root, 7 children, 42 grandchildren: 50 agents. */
function buildTree(): Node[] {
  const root: Node = { id: 'root', parent: undefined, children: [] };
  const all = [root];
  for (let c = 0; c < 7; c++) {
    const child: Node = { id: `c${c}`, parent: root, children: [] };
    root.children.push(child);
    all.push(child);
    for (let g = 0; g < 6; g++) {
      const grandchild: Node = { id: `c${c}-g${g}`, parent: child, children: [] };
      child.children.push(grandchild);
      all.push(grandchild);
    }
  }
  return all;
}

const ownFiles = (id: string): string[] => [`agents/${id}.txt`, `work/${id}/notes.md`];
const ancestors = (n: Node): Node[] => (n.parent ? [n.parent, ...ancestors(n.parent)] : []);

function filesIn(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

describe('50 agents in a 3-level tree', () => {
  let repo: TempRepo;
  let ws: WorkspaceManager;
  const tree = buildTree();

  beforeAll(async () => {
    repo = createTempRepo();
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
  });
  afterAll(() => repo.cleanup());

  it('work in parallel without cross-contamination and merge up to the union', async () => {
    expect(tree).toHaveLength(50);
    // Each agent: worktree on its parent's branch, own files written and committed, then its
    // children start (from the parent's committed state) — all subtrees run concurrently.
    const commits = new Map<string, string>();
    const run = async (node: Node): Promise<void> => {
      const info = await ws.create(node.id, node.parent ? { baseBranch: `agents/${node.parent.id}` } : {});
      expect(info).toMatchObject({ branch: `agents/${node.id}`, status: 'created', baseBranch: node.parent ? `agents/${node.parent.id}` : 'main' });
      const files = createWorkspaceFiles(info.path);
      await Promise.all(ownFiles(node.id).map((f) => files.write(f, `written by ${node.id}\n`)));
      const c = await ws.commit(node.id, `${node.id}: own files`);
      expect(c?.files.slice().sort()).toEqual(ownFiles(node.id).sort());
      commits.set(node.id, c!.commit);
      await Promise.all(node.children.map(run));
    };
    await run(tree[0]!);

    // No cross-contamination: each worktree and each branch hold the initial README, the
    // ancestors' committed files and its own — nothing of siblings or cousins.
    for (const node of tree) {
      const expected = ['README.md', ...[node, ...ancestors(node)].flatMap((n) => ownFiles(n.id))].sort();
      expect(filesIn(ws.pathOf(node.id))).toEqual(expected);
      expect(repo.git(['ls-tree', '-r', '--name-only', `agents/${node.id}`]).split('\n').sort()).toEqual(expected);
      // The agent's own commit is the tip of its branch, authored by cadre, touching only its files.
      expect(repo.git(['rev-parse', `agents/${node.id}`])).toBe(commits.get(node.id));
      expect(repo.git(['log', '-1', '--format=%an <%ae>', `agents/${node.id}`])).toBe('cadre <agents@cadre.local>');
      expect(repo.git(['show', '--name-only', '--format=', `agents/${node.id}`]).split('\n').sort()).toEqual(ownFiles(node.id).sort());
    }
    expect((await ws.list()).map((l) => l.agentId).sort()).toEqual(tree.map((n) => n.id).sort());

    // Bottom-up: grandchildren into children (all at once; merges into one worktree queue),
    // then children into the root.
    const children = tree[0]!.children;
    await Promise.all(
      children.map(async (child) => {
        for (const g of child.children) expect(await ws.merge(g.id, child.id)).toMatchObject({ status: 'merged', files: ownFiles(g.id).sort() });
      }),
    );
    for (const child of children) expect((await ws.merge(child.id, 'root')).status).toBe('merged');

    const union = ['README.md', ...tree.flatMap((n) => ownFiles(n.id))].sort();
    expect(repo.git(['ls-tree', '-r', '--name-only', 'agents/root']).split('\n').sort()).toEqual(union);
    expect(filesIn(ws.pathOf('root'))).toEqual(union);
    expect(repo.git(['status', '--porcelain'], ws.pathOf('root'))).toBe('');

    // And up into the repository's own checked-out branch.
    expect((await ws.merge('root', { branch: 'main' })).status).toBe('merged');
    expect(repo.git(['ls-tree', '-r', '--name-only', 'main']).split('\n').sort()).toEqual(union);
    expect(filesIn(repo.path)).toEqual(union);
    // ~25 s alone on 2 cores (101 git worktree operations); over 60 s beside the int tier's other
    // file and a second load (a clean-clone CI run beside a subagent's trial): a correctness test,
    // not a timing one.
  }, 180_000);
});
