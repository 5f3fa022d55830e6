import type { WorkflowGraphInput } from '../../src/workflows/graph.js';

/** A small seeded generator (mulberry32): the same seed gives the same faults and graph. */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES = ['architect', 'implementer', 'tester', 'reviewer', 'researcher', 'writer'] as const;

/**
 * Fifty nodes in five layers of ten; each node after the first layer depends on one or two
 * nodes of the layer before. 2% of the budget each; failed nodes are retried twice and then
 * skipped (`continue`), so the workflow degrades instead of failing outright.
 */
export function faultGraph(seed: number, width = 10, layers = 5): WorkflowGraphInput {
  const random = rng(seed);
  const nodes: WorkflowGraphInput['nodes'] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const deps = new Set<string>();
      if (l > 0) {
        deps.add(`n${l - 1}-${Math.floor(random() * width)}`);
        if (random() < 0.5) deps.add(`n${l - 1}-${Math.floor(random() * width)}`);
      }
      nodes.push({
        id: `n${l}-${i}`,
        role: ROLES[(l * width + i) % ROLES.length]!,
        task: `part ${i} of stage ${l}`,
        budgetPercent: 100 / (layers * width),
        dependencies: [...deps],
        retries: 2,
        onFailure: 'continue',
      });
    }
  }
  return { nodes };
}

export type FaultKind = 'sigkill' | 'pg-terminate' | 'pg-restart' | 'git-fail' | 'model';

export interface FaultEvent {
  /** Milliseconds after the workflow was spawned. */
  readonly atMs: number;
  readonly kind: Exclude<FaultKind, 'model'>;
}

/**
 * The faults one seed injects, at seeded moments within the first `spanMs` of the run: always
 * one SIGKILL, one or two rounds of connection kills, a Postgres restart on every other seed,
 * and a git outage when the run has worktrees. Model errors and hangs happen on every seed.
 */
export function faultSchedule(seed: number, options: { spanMs: number; git: boolean }): FaultEvent[] {
  const random = rng(seed * 104729);
  const at = (): number => Math.round(150 + random() * options.spanMs);
  const events: FaultEvent[] = [{ atMs: at(), kind: 'sigkill' }, { atMs: at(), kind: 'pg-terminate' }];
  if (random() < 0.5) events.push({ atMs: at(), kind: 'pg-terminate' });
  if (seed % 2 === 1) events.push({ atMs: at(), kind: 'pg-restart' });
  if (options.git) events.push({ atMs: at(), kind: 'git-fail' });
  return events.sort((a, b) => a.atMs - b.atMs);
}
