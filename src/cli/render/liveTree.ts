import type { AgentNode } from '../../dashboard/agentTree.js';
import { flatten } from '../../dashboard/agentTree.js';
import type { Output } from '../output.js';
import { renderAgentTree } from './agentTreeView.js';
import { shortId, tokens, type Style } from './style.js';

/**
 * Shows a tree while it works. On a terminal it redraws in place with ANSI (cursor up, clear
 * below); otherwise it prints one progress line per agent whose status changes, so logs and CI
 * output stay readable.
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

  constructor(
    private readonly output: Output,
    private readonly style: Style,
    private readonly snapshot: () => Promise<AgentNode>,
    private readonly options: { intervalMs?: number; ansi?: boolean } = {},
  ) {}

  private get ansi(): boolean {
    return this.options.ansi ?? this.output.isTTY;
  }

  start(): void {
    const tick = (): void => {
      this.drawing = this.drawing.then(() => this.draw()).then(() => undefined, () => undefined);
    };
    tick();
    this.timer = setInterval(tick, this.options.intervalMs ?? (this.ansi ? 150 : 250));
  }

  /** Stops redrawing after one final frame; returns the final tree. */
  async stop(): Promise<AgentNode | null> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.drawing;
    return this.draw();
  }

  private async draw(): Promise<AgentNode | null> {
    let root: AgentNode;
    try {
      root = await this.snapshot();
    } catch {
      return null;
    }
    if (this.ansi) {
      const text = renderAgentTree(root, this.style);
      const clear = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\x1b[0J` : '';
      const elapsed = this.style.dim(`  ${((Date.now() - this.started) / 1000).toFixed(1)} s`);
      this.output.out(`${clear}${text}\n${elapsed}`);
      this.drawnLines = text.split('\n').length + 1;
    } else {
      for (const n of flatten(root)) {
        const key = `${n.status}`;
        if (this.statuses.get(n.id) === key) continue;
        this.statuses.set(n.id, key);
        const t = `${((Date.now() - this.started) / 1000).toFixed(1)}s`.padStart(6);
        const indent = '  '.repeat(Math.max(0, n.depth - root.depth));
        this.output.out(`${t}  ${indent}${n.nodeId ?? n.role} ${shortId(n.id)} ${n.status}  ${tokens(n.subtreeConsumed)}/${tokens(n.budget.allocated)} tokens`);
      }
    }
    return root;
  }
}
