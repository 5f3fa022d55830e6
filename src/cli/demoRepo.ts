import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** git with a clean environment (no GIT_DIR leaking in from a hook) and a fixed identity. */
export async function git(cwd: string, args: readonly string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  const { stdout } = await run('git', [...args], { cwd, env: { ...env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' }, maxBuffer: 16 << 20 });
  return stdout.trim();
}

export interface DemoRepo {
  readonly dir: string;
  readonly repo: string;
  readonly worktrees: string;
}

/** A fresh repository for the demo: a tiny JavaScript project on branch main. */
export async function createDemoRepo(): Promise<DemoRepo> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'cadre-demo-')));
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'README.md'), '# text-utils\n\nA tiny library the cadre demo works on.\n');
  writeFileSync(join(repo, 'src', 'text.js'), 'export function capitalize(s) {\n  return s.charAt(0).toUpperCase() + s.slice(1);\n}\n');
  await git(repo, ['init', '--quiet', '--initial-branch=main']);
  await git(repo, ['config', 'user.name', 'cadre demo']);
  await git(repo, ['config', 'user.email', 'demo@cadre.local']);
  await git(repo, ['config', 'commit.gpgSign', 'false']);
  await git(repo, ['add', '--all']);
  await git(repo, ['commit', '--quiet', '-m', 'initial commit']);
  return { dir, repo, worktrees: join(dir, 'worktrees') };
}

/** Files changed on each `agents/<id>` branch against main. */
export async function filesPerBranch(repo: string): Promise<Array<{ branch: string; agentId: string; files: string[] }>> {
  const refs = await git(repo, ['for-each-ref', '--format=%(refname:short)', 'refs/heads/agents/']).catch(() => '');
  const branches = refs.split('\n').filter(Boolean);
  return Promise.all(branches.map(async (branch) => {
    const files = (await git(repo, ['diff', '--name-only', `main...${branch}`]).catch(() => '')).split('\n').filter(Boolean);
    return { branch, agentId: branch.slice('agents/'.length), files };
  }));
}
