import type { AgentNode } from '../../dashboard/agentTree.js';
import { flatten } from '../../dashboard/agentTree.js';
import type { Output } from '../output.js';
import { doing, renderAgentTree } from './agentTreeView.js';
import { fitWidth } from './fitWidth.js';
import { oneLine } from './oneLine.js';
import { OWN_ESC } from './ownEscape.js';
import { shortId, tokens, type Style } from './style.js';

/**
 * Shows a tree while it works, saying what each agent is doing (`calling model`, `running tools`,
 * `waiting for 2 children`). On a terminal it redraws in place with ANSI (cursor up, clear
 * below), each line cut to the terminal's width: a wrapped line takes two rows, and cursor-up by
 * the line count then left rows of old frames behind. Otherwise it prints one progress line per
 * agent whose activity changes, with no control codes, so logs and CI output stay readable.
 *
 * @example
 * const live = new LiveTree(output, style, () => agentTree(system, root.id));
 * live.start(); await root.run(); await live.stop();
 */
export class LiveTree {
  private timer: NodeJS.Timeout | null = null;
  private drawnLines = 0;
  private readonly statuses = new Map<string, string>();
  private readonly started = Date.now();
  private drawing: Promise<void> = Promise.resolve();
  private busy = false;
  /** A change arrived while a frame was being read: draw once more after it. */
  private dirty = false;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private soon: NodeJS.Timeout | null = null;
  private stopped = false;

  /**
   * `changes`: the tree's events (`agent.events({ subtree: true })`). With them, a frame is drawn
   * soon after each change (at most one per `intervalMs`) and otherwise only every
   * `idleIntervalMs` (default 1 s), for what no event records: the clock, a host's lease lapsing.
   * Without them, a frame every `intervalMs`.
   */
  constructor(
    private readonly output: Output,
    private readonly style: Style,
    private readonly snapshot: () => Promise<AgentNode>,
    private readonly options: { intervalMs?: number; idleIntervalMs?: number; ansi?: boolean; changes?: AsyncIterable<unknown> } = {},
  ) {}

  private get ansi(): boolean {
    return this.options.ansi ?? this.output.isTTY;
  }

  private get intervalMs(): number {
    return this.options.intervalMs ?? (this.ansi ? 150 : 250);
  }

  start(): void {
    this.tick();
    const changes = this.options.changes;
    this.timer = setInterval(() => this.tick(), changes ? (this.options.idleIntervalMs ?? 1000) : this.intervalMs);
    if (changes) void this.follow(changes);
  }

  /** Stops redrawing after one final frame; returns the final tree. */
  async stop(): Promise<AgentNode | null> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = null;
    this.soon = null;
    await this.drawing;
    return this.draw();
  }

  private tick(): void {
    // A tick that finds the last frame still being read is skipped: queued behind it, slow
    // reads piled up and the view fell further and further behind the run.
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.lastDrawAt = performance.now();
    this.drawing = this.draw().then(() => undefined, () => undefined).finally(() => {
      this.busy = false;
      if (this.dirty) this.redrawSoon();
    });
  }

  /** A frame for a change: now, or when `intervalMs` has passed since the last one began. */
  private redrawSoon(): void {
    if (this.stopped || this.soon) return;
    if (this.busy) {
      this.dirty = true;
      return;
    }
    this.dirty = false;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.tick();
    }, Math.max(0, this.lastDrawAt + this.intervalMs - performance.now()));
  }

  private async follow(changes: AsyncIterable<unknown>): Promise<void> {
    try {
      for await (const _ of changes) {
        if (this.stopped) return;
        this.redrawSoon();
      }
    } catch {
      // The slow timer goes on drawing: a view never fails a run.
    }
  }

  private async draw(): Promise<AgentNode | null> {
    let root: AgentNode;
    try {
      root = await this.snapshot();
    } catch {
      return null;
    }
    if (this.ansi) {
      const elapsed = this.style.dim(`  ${((Date.now() - this.started) / 1000).toFixed(1)} s`);
      // One column short of the width: a line that fills the last column wraps on some terminals.
      // And no taller than the screen: cursor-up stops at its top row, leaving the rest behind.
      let tree = renderAgentTree(root, this.style).split('\n');
      const rows = this.output.rows ?? Infinity;
      if (tree.length + 1 > rows - 1) tree = [...tree.slice(0, Math.max(0, rows - 3)), this.style.dim(`  … and ${tree.length - Math.max(0, rows - 3)} more agents`)];
      const lines = [...tree, elapsed].map((l) => fitWidth(l, Math.max(1, this.output.columns - 1)));
      const clear = this.drawnLines > 0 ? `${OWN_ESC}[${this.drawnLines}A${OWN_ESC}[0J` : '';
      this.output.out(`${clear}${lines.join('\n')}`);
      this.drawnLines = lines.length;
    } else {
      const all = flatten(root);
      const byId = new Map(all.map((n) => [n.id, n]));
      const changed: AgentNode[] = [];
      for (const n of all) {
        // A workflow's child gets its node id a moment after it is spawned: wait for it rather
        // than name the agent by its role first and by its node id after.
        const ended = n.status === 'completed' || n.status === 'failed' || n.status === 'terminated';
        if (n.nodeId === null && !ended && byId.get(n.parentId ?? '')?.kind === 'workflow') continue;
        const key = doing(n);
        if (this.statuses.get(n.id) === key) continue;
        this.statuses.set(n.id, key);
        changed.push(n);
      }
      // Agents that ended in the same moment: children before their parent, as they ended.
      const endedFirst = (n: AgentNode): number => (n.status === 'completed' || n.status === 'failed' || n.status === 'terminated' ? -n.depth : Number.MIN_SAFE_INTEGER);
      changed.sort((a, b) => endedFirst(a) - endedFirst(b));
      for (const n of changed) {
        const t = `${((Date.now() - this.started) / 1000).toFixed(1)}s`.padStart(6);
        const indent = '  '.repeat(Math.max(0, n.depth - root.depth));
        this.output.out(`${t}  ${indent}${oneLine(n.nodeId ?? n.role)} ${shortId(n.id)} ${doing(n)}  ${tokens(n.subtreeConsumed)}/${tokens(n.budget.allocated)} tokens`);
      }
    }
    return root;
  }
}
