import type { AgentNode } from '../../dashboard/agentTree.js';
import { oneLine } from './oneLine.js';
import { budgetBar, shortId, tokens, usd, type Style } from './style.js';

interface Line {
  readonly label: string;
  readonly node: AgentNode;
}

/** Past this many levels the guides stop widening (a 3,000-deep chain would be 9,000 columns) and lines show their level. */
const MAX_GUIDE_DEPTH = 40;

function lines(root: AgentNode): Line[] {
  const out: Line[] = [];
  // An explicit stack, not recursion: trees can be thousands deep.
  const stack: { n: AgentNode; prefix: string; childPrefix: string; level: number }[] = [{ n: root, prefix: '', childPrefix: '', level: 0 }];
  while (stack.length > 0) {
    const { n, prefix, childPrefix, level } = stack.pop()!;
    const name = oneLine(n.nodeId && n.nodeId !== n.role ? `${n.nodeId} (${n.role})` : n.role);
    out.push({ label: `${prefix}${level > MAX_GUIDE_DEPTH ? `[${level}] ` : ''}${name}${n.kind === 'workflow' ? ' [workflow]' : ''}`, node: n });
    for (let i = n.children.length - 1; i >= 0; i--) {
      const last = i === n.children.length - 1;
      const grow = level < MAX_GUIDE_DEPTH;
      stack.push({ n: n.children[i]!, prefix: childPrefix + (last ? '└─ ' : '├─ '), childPrefix: grow ? childPrefix + (last ? '   ' : '│  ') : childPrefix, level: level + 1 });
    }
  }
  return out;
}

/** What an agent is doing while it runs (`calling model`), else its status: coloured by its status either way. */
export const doing = (n: Pick<AgentNode, 'status' | 'activity'>): string => n.activity ?? n.status;

/**
 * The agent tree as aligned text lines: role, short id, status (what it is doing while it runs), a budget bar (used of
 * allocated), tokens used of allocated, and the subtree's cost.
 *
 * @example
 * console.log(renderAgentTree(await agentTree(system, rootId), createStyle(false)));
 * // lead            019fd278…8b2e  completed  █░░░░░░░░░░░   2%  1.1k/60k  $0
 * // ├─ implementer  019fd278…91aa  completed  ░░░░░░░░░░░░   2%  327/20k   $0
 */
export function renderAgentTree(root: AgentNode, style: Style, options: { bar?: number } = {}): string {
  const ls = lines(root);
  const labelWidth = Math.max(...ls.map((l) => l.label.length));
  const statusWidth = Math.max(...ls.map((l) => doing(l.node).length));
  const usageCells = ls.map((l) => `${tokens(l.node.subtreeConsumed)}/${tokens(l.node.budget.allocated)}`);
  const usageWidth = Math.max(...usageCells.map((c) => c.length));
  return ls
    .map((l, i) => {
      const n = l.node;
      const status = style.status(n.status, doing(n)) + ' '.repeat(statusWidth - doing(n).length);
      return [l.label.padEnd(labelWidth), style.dim(shortId(n.id)), status, budgetBar(n.subtreeConsumed, n.budget.allocated, options.bar ?? 12), usageCells[i]!.padEnd(usageWidth), usd(n.subtreeCostUsd)].join('  ');
    })
    .join('\n');
}
