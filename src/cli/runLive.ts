import type { AgentSystem } from '../system.js';
import { agentTree, flatten, type AgentNode } from '../dashboard/agentTree.js';
import type { CliContext } from './context.js';
import { LiveTree } from './render/liveTree.js';
import { tokens, usd } from './render/style.js';

export interface RunSummary {
  readonly rootId: string;
  readonly status: string;
  readonly output: string | null;
  readonly agents: number;
  readonly tokens: number;
  readonly costUsd: number;
  readonly seconds: number;
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
    tree,
  };
}

export function summaryLine(s: RunSummary): string {
  return `${s.status}: ${s.agents} agents, ${tokens(s.tokens)} tokens, ${usd(s.costUsd)}, ${s.seconds.toFixed(1)} s`;
}

/** Where to look next. */
export function inspectHints(rootId: string): string {
  return [`inspect:  cadre tree ${rootId}`, `          cadre history ${rootId}`, `          cadre replay ${rootId} --to 2`, '          cadre serve   (then open http://127.0.0.1:4600)'].join('\n');
}
