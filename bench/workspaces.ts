/**
 * Worktree create+remove latency: cadre's manager against bare git in the same run on the
 * same repository. `npx tsx bench/workspaces.ts [iterations]` prints a table.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createWorkspaceManager } from '../src/infra/workspace/workspaceManager.js';
import { createTempRepo } from '../tests/support/gitRepo.js';
import { percentile, sortNumbers } from './support.js';

const run = promisify(execFile);

export interface WorkspaceBenchRow {
  readonly name: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly opsPerSec?: number;
  readonly note?: string;
}

async function timed(iterations: number, fn: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; opsPerSec: number }> {
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  const total = performance.now() - start;
  sortNumbers(samples);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), opsPerSec: iterations / (total / 1000) };
}

const round = (n: number): number => Math.round(n * 100) / 100;

/**
 * Sequential create+remove cycles on a temporary repository (100 files): bare `git worktree
 * add -b` + `worktree remove --force` + `branch -D` as child processes (the physical
 * limit), then `manager.create` + `manager.remove({ deleteBranch: true })`; plus a burst
 * of parallel creates through the manager. Returns p50/p99 per cycle and the ratio.
 *
 * @example
 * const rows = await benchWorkspaces({ iterations: 50 });
 */
export async function benchWorkspaces({ iterations = 50 }: { iterations?: number } = {}): Promise<WorkspaceBenchRow[]> {
  const repo = createTempRepo({
    prefix: 'cadre-bench-',
    files: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`src/d${i % 10}/f${i}.ts`, `export const v${i} = ${i};\n`])),
  });
  try {
    const bareBase = join(repo.dir, 'bare');
    const git = (args: string[]) => run('git', ['-C', repo.path, ...args]);
    // Warm the page cache and git's own start-up paths for both sides alike.
    await git(['worktree', 'add', '--quiet', '-b', 'warm', join(bareBase, 'warm'), 'main']);
    await git(['worktree', 'remove', '--force', join(bareBase, 'warm')]);
    await git(['branch', '-D', 'warm']);

    const bare = await timed(iterations, async (i) => {
      const path = join(bareBase, `b${i}`);
      await git(['worktree', 'add', '--quiet', '-b', `bare/${i}`, path, 'main']);
      await git(['worktree', 'remove', '--force', path]);
      await git(['branch', '-D', `bare/${i}`]);
    });

    const ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
    const cadre = await timed(iterations, async (i) => {
      await ws.create(`m${i}`);
      await ws.remove(`m${i}`, { deleteBranch: true });
    });

    const burst = Math.max(10, Math.min(50, iterations));
    const t = performance.now();
    await Promise.all(Array.from({ length: burst }, (_, i) => ws.create(`p${i}`)));
    const parallelMs = performance.now() - t;
    await Promise.all(Array.from({ length: burst }, (_, i) => ws.remove(`p${i}`, { deleteBranch: true })));

    return [
      { name: 'bare git: worktree add -b + remove --force + branch -D', p50Ms: round(bare.p50), p99Ms: round(bare.p99), opsPerSec: round(bare.opsPerSec), note: 'physical limit' },
      {
        name: 'cadre: manager.create + manager.remove({ deleteBranch })',
        p50Ms: round(cadre.p50),
        p99Ms: round(cadre.p99),
        opsPerSec: round(cadre.opsPerSec),
        note: `p50 ${round(cadre.p50 / bare.p50)}x bare, p99 ${round(cadre.p99 / bare.p99)}x bare`,
      },
      {
        name: `cadre: ${burst} parallel creates`,
        p50Ms: round(parallelMs / burst),
        p99Ms: round(parallelMs),
        opsPerSec: round(burst / (parallelMs / 1000)),
        note: 'p50 = wall time per create, p99 = wall time of the whole burst',
      },
    ];
  } finally {
    repo.cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const iterations = Number(process.argv[2] ?? 50);
  console.table(await benchWorkspaces({ iterations }));
}
