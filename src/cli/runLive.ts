import type { AgentSystem } from '../system.js';
import { agentTree, flatten, type AgentNode } from '../dashboard/agentTree.js';
import { Interrupted } from './cliError.js';
import { untilSignal } from './untilSignal.js';
import type { CliContext } from './context.js';
import { LiveTree } from './render/liveTree.js';
import { tokens, usd } from './render/style.js';
import { plural } from './render/plural.js';
import { addUsd } from '../actors/pricing.js';

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
 * With `quiet` (e.g. `--json`), nothing is drawn. Ctrl-C (or SIGTERM) stops waiting: one line on
 * stderr says what was left unfinished and how to resume it, then `Interrupted` is thrown, so the
 * caller's `system.close()` lets a model call already sent finish and be recorded, and frees the
 * leases for whoever resumes the tree. A second Ctrl-C quits at once. `onInterrupt` does what
 * the caller needs instead and returns that line.
 */
export async function runWithLiveTree(ctx: CliContext, system: AgentSystem, rootId: string, run: () => Promise<{ status: string; output: string | null }>, options: { quiet?: boolean; onInterrupt?: () => Promise<string> } = {}): Promise<RunSummary> {
  const started = Date.now();
  // The view redraws as the tree's events arrive (from the root's current revision: what came
  // before is drawn by the first frame), rather than re-reading the whole tree on a fast timer.
  const watching = new AbortController();
  let live: LiveTree | null = null;
  let stopped = false;
  let result: { status: string; output: string | null } | NodeJS.Signals;
  try {
    // Listening from the first moment: a Ctrl-C while the view was being set up found no
    // handler and ended the process silently, the run started (a new user's early Ctrl-C).
    result = await untilSignal(
      (async () => {
        const changes = options.quiet ? undefined : await treeChanges(system, rootId, watching.signal);
        if (stopped) return { status: 'interrupted', output: null }; // interrupted meanwhile: neither drawn nor run
        if (!options.quiet) {
          const view = new LiveTree(ctx.output, ctx.style, () => agentTree(system, rootId), { changes });
          live = view;
          view.start();
        }
        return run();
      })(),
    );
    // Interrupted, to be resumed: nothing new starts from here, so what the line below names is
    // what was left. (An `onInterrupt` that ends the run itself needs its endings to run.)
    if (typeof result === 'string' && !options.onInterrupt) system.internal.runtime.stopStarting();
  } finally {
    stopped = true;
    await (live as LiveTree | null)?.stop();
    watching.abort();
  }
  if (typeof result === 'string') {
    ctx.output.err(await (options.onInterrupt ?? (() => leftBehind(system, rootId)))());
    throw new Interrupted(result);
  }
  const tree = await agentTree(system, rootId);
  const all = flatten(tree);
  return {
    rootId,
    status: result.status,
    output: result.output,
    agents: all.length,
    tokens: all.reduce((a, n) => a + n.budget.consumed, 0),
    costUsd: all.reduce((a, n) => addUsd(a, n.costUsd), 0),
    seconds: (Date.now() - started) / 1000,
    failures: all.filter((n) => n.status === 'failed' || n.status === 'terminated').map((n) => ({ id: n.id, role: n.role, status: n.status, reason: n.reason })),
    tree,
  };
}

/** The tree's events from now on (nothing when the root cannot be read: the first frame says why). */
async function treeChanges(system: AgentSystem, rootId: string, signal: AbortSignal): Promise<AsyncIterable<unknown> | undefined> {
  const root = system.get(rootId);
  const state = await root.state().catch(() => null);
  return state ? root.events({ subtree: true, fromRevision: state.revision, signal }) : undefined;
}

/** What an interrupted run leaves: the tree's agents that have not ended, and how to go on. */
export async function leftBehind(system: AgentSystem, rootId: string): Promise<string> {
  const tree = await agentTree(system, rootId).catch(() => null);
  const open = tree ? flatten(tree).filter((n) => !['completed', 'failed', 'terminated'].includes(n.status)) : [];
  if (tree && open.length === 0) return `interrupted: ${tree.role} ${rootId} has ${tree.status}; nothing left to resume`;
  const others = open.filter((n) => n.id !== rootId).length;
  // What it is doing ("calling model"), not only its status: "(waiting)" read as idle to a user
  // who had interrupted it mid-call (a crash trial's).
  const what = tree ? `${tree.role} ${rootId} (${tree.activity ?? tree.status})${others > 0 ? ` and ${plural(others, 'agent')} under it` : ''}` : rootId;
  // A call already sent is let finish and recorded before the process exits (close()): it may
  // even end the agent, which "not finished" alone did not let the user expect.
  const calls = open.filter((n) => n.activity === 'calling model').length;
  const draining = calls > 0 ? `; ${calls === 1 ? 'the model call' : `${calls} model calls`} under way ${calls === 1 ? 'is' : 'are'} let finish and recorded first (up to 5 s)` : '';
  // Workers beside it may hold part of the tree or take it over once this process's leases lapse:
  // "left unfinished" alone read as if nothing would go on with it.
  return `interrupted: ${what} not finished${draining}; a cadre worker or cadre serve on this store goes on with it (within 5 s), else resume with cadre start ${rootId} --wait`;
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
  return [`inspect:  cadre tree ${rootId}`, `          cadre history ${rootId}`, `          cadre replay ${rootId} --to 2`, '          cadre serve   (then open the address it prints)'].join('\n');
}
