import type { AgentSystem } from '../system.js';
import { agentTree, flatten, type AgentNode } from '../dashboard/agentTree.js';
import type { CliContext } from './context.js';
import { LiveTree } from './render/liveTree.js';
import { tokens, usd } from './render/style.js';
import { plural } from './render/plural.js';

export interface RunSummary {
  readonly rootId: string;
  readonly status: string;
  readonly output: string | null;
  readonly agents: number;
  readonly tokens: number;
  readonly costUsd: number;
  readonly seconds: number;
  /** Every agent of the tree that failed or was terminated, with its reason. */
  readonly failures: ReadonlyArray<{ readonly id: string; readonly role: string; readonly status: string; readonly reason: string | null }>;
  readonly tree: AgentNode;
}

/**
 * Runs `run()` while a live tree of `rootId` redraws; returns the final tree and totals.
 * With `quiet` (e.g. `--json`), nothing is drawn.
 */
export async function runWithLiveTree(ctx: CliContext, system: AgentSystem, rootId: string, run: () => Promise<{ status: string; output: string | null }>, options: { quiet?: boolean } = {}): Promise<RunSummary> {
  const started = Date.now();
  const live = options.quiet ? null : new LiveTree(ctx.output, ctx.style, () => agentTree(system, rootId));
  live?.start();
  let result: { status: string; output: string | null };
  try {
    result = await run();
  } finally {
    await live?.stop();
  }
  const tree = await agentTree(system, rootId);
  const all = flatten(tree);
  return {
    rootId,
    status: result.status,
    output: result.output,
    agents: all.length,
    tokens: all.reduce((a, n) => a + n.budget.consumed, 0),
    costUsd: all.reduce((a, n) => a + n.costUsd, 0),
    seconds: (Date.now() - started) / 1000,
    failures: all.filter((n) => n.status === 'failed' || n.status === 'terminated').map((n) => ({ id: n.id, role: n.role, status: n.status, reason: n.reason })),
    tree,
  };
}

/** The totals, then one line per agent that failed or was terminated, saying why. */
export function summaryLine(s: RunSummary): string {
  const why = s.failures.map((f) => `\n  ${f.status} ${f.role} ${f.id}: ${oneLine(f.reason ?? 'no reason recorded')}`);
  const rateLimited = s.failures.some((f) => f.reason?.includes('model API error 429'));
  const hint = rateLimited ? '\n  hint: rate limited by the model API: retry later, or lower MAX_CONCURRENT_AGENTS so fewer calls run at once' : '';
  return `${s.status}: ${plural(s.agents, 'agent')}, ${tokens(s.tokens)} tokens, ${usd(s.costUsd)}, ${s.seconds.toFixed(1)} s${why.join('')}${hint}`;
}

/** A reason on one line, cut to what a terminal shows. */
const oneLine = (t: string): string => {
  const flat = t.replace(/\s*\n\s*/g, ' ');
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
};

/** Where to look next. */
export function inspectHints(rootId: string): string {
  return [`inspect:  cadre tree ${rootId}`, `          cadre history ${rootId}`, `          cadre replay ${rootId} --to 2`, '          cadre serve   (then open http://127.0.0.1:4600)'].join('\n');
}
