import { InvalidInput } from '../../errors.js';
import type { Plan, PlanNode } from './decompositionRequest.js';
import { MAX_PLAN_NODES } from './decompositionRequest.js';
import { slug } from './slug.js';

/**
 * The offline model's decomposition rules: no language model, just text rules, so the same
 * task always yields the same graph.
 *
 * 1. Steps. The task is cut into sentences (`.`, `!`, `?`, `;`, newlines); each sentence is cut
 *    again at "then" ("and then", ", then"), and after a comma or "and" at "next", "finally",
 *    "lastly", "afterwards" or "after that" (", and finally"; "the next step" stays whole). "X before <doing> Y" is cut into X, then
 *    "<doing> Y"; "X after <doing> Y" into "<doing> Y", then X (only before an -ing word: "after
 *    the tests pass" is a condition, not a step), and so with the clause first ("After testing
 *    it, deploy it"). A leading "first", "then", "next", "finally", "lastly" is dropped. These pieces run
 *    one after another. A piece is cut once more at " and " when both halves have at least two
 *    words ("build the API and write tests" splits, "design and implement the API" does not);
 *    those halves run in parallel.
 * 2. Roles, first keyword wins: test → tester; review → reviewer; design, plan, architect →
 *    architect; implement, build, write, code, fix, add, create → implementer; else
 *    implementer. A role that is not allowed falls back to implementer, else the first allowed role.
 * 3. Graph. Each piece depends on every piece of the group before it: a chain, with fan-out and
 *    fan-in around parallel halves. Ids are `<role-slug>-<n>`, n counting from 1 in task order.
 * 4. Budget. 90% is shared equally (rounded down); 10% stays with the workflow agent.
 * 5. At most MAX_PLAN_NODES nodes: pieces beyond that are folded into the last node's task.
 * 6. A node's task is at most NODE_TASK_MAX characters, cut with a note: every node also reads
 *    the whole workflow task, and a plan repeating a task of 100,000 characters ran past the
 *    planning call's max_tokens, which charged it in full for no plan (a new-user try).
 */
export const NODE_TASK_MAX = 2_000;
export const OFFLINE_PLAN_SHARE_PERCENT = 90;

const ROLE_KEYWORDS: readonly (readonly [role: string, pattern: RegExp])[] = [
  ['tester', /\btest/i],
  ['reviewer', /\breview/i],
  ['architect', /\b(design|plan|architect)/i],
  ['implementer', /\b(implement|build|write|code|fix|add|create)/i],
];

/**
 * Plans `task` for the allowed `roles` by the rules above.
 *
 * @example
 * planFromTask('Design the API, then implement it and write tests. Review everything.',
 *   ['architect', 'implementer', 'tester', 'reviewer']);
 * // architect-1 → implementer-2, tester-3 → reviewer-4
 */
export function planFromTask(task: string, roles: readonly string[]): Plan {
  if (roles.length === 0) throw new InvalidInput('roles', 'at least one role is required');
  let groups = splitIntoGroups(task);
  if (groups.length === 0) groups = [[task.trim() || 'Complete the task']];
  groups = capNodes(groups, MAX_PLAN_NODES);
  const total = groups.reduce((n, g) => n + g.length, 0);
  const percent = Math.max(1, Math.floor(OFFLINE_PLAN_SHARE_PERCENT / total));

  const nodes: PlanNode[] = [];
  let previous: string[] = [];
  for (const group of groups) {
    const current: string[] = [];
    for (const piece of group) {
      const role = roleFor(piece, roles);
      const id = `${slug(role)}-${nodes.length + 1}`;
      nodes.push({ id, role, task: bounded(piece), budgetPercent: percent, dependencies: previous });
      current.push(id);
    }
    previous = current;
  }
  return { nodes };
}

/** Sequential groups of parallel pieces. */
function splitIntoGroups(task: string): string[][] {
  return task
    .split(/[.!?;]+(?:\s+|$)|\n+/)
    .flatMap((sentence) => sentence.split(/\s*,?\s*\b(?:and\s+)?then\b,?\s*|(?:\s*,\s*(?:and\s+)?|\s+and\s+)(?:next|finally|lastly|afterwards|after that)\b,?\s*/i))
    .flatMap(inOrder)
    .map((piece) => clean(piece).replace(/^(?:first|then|next|finally|lastly|afterwards|after that)\b,?\s*/i, ''))
    .filter((piece) => piece.length > 0)
    .map(splitParallel);
}

/**
 * "X before doing Y" → [X, doing Y]; "X after doing Y" → [doing Y, X]; and with the clause
 * first, "Before doing Y, X" → [X, doing Y], "After doing Y, X" → [doing Y, X]; else [piece].
 */
function inOrder(piece: string): string[] {
  const leading = /^\s*(before|after)\s+(\w+ing\b[^,]*),\s*(.+)$/i.exec(piece);
  if (leading) {
    const [, word, clause, rest] = leading as unknown as [string, string, string, string];
    return word.toLowerCase() === 'before' ? [...inOrder(rest), clause] : [clause, ...inOrder(rest)];
  }
  const before = /\s+before\s+(?=\w+ing\b)/i.exec(piece);
  if (before) return [piece.slice(0, before.index), ...inOrder(piece.slice(before.index + before[0].length))];
  const after = /\s+after\s+(?=\w+ing\b)/i.exec(piece);
  if (after) return [...inOrder(piece.slice(after.index + after[0].length)), piece.slice(0, after.index)];
  return [piece];
}

function splitParallel(piece: string): string[] {
  const at = piece.search(/\s+and\s+/i);
  if (at < 0) return [piece];
  const left = clean(piece.slice(0, at));
  const right = clean(piece.slice(at).replace(/^\s+and\s+/i, ''));
  if (words(left) < 2 || words(right) < 2) return [piece];
  return [left, ...splitParallel(right)];
}

function capNodes(groups: string[][], max: number): string[][] {
  const out: string[][] = [];
  let used = 0;
  for (const group of groups) {
    if (used + group.length <= max) {
      out.push(group);
      used += group.length;
      continue;
    }
    const room = max - used;
    const rest = group.slice(Math.max(0, room - 1));
    const kept = group.slice(0, Math.max(0, room - 1));
    const folded = [...rest, ...groups.slice(groups.indexOf(group) + 1).flat()].join('; ');
    if (room > 0) out.push([...kept, folded]);
    else {
      const last = out[out.length - 1] ?? [];
      last[last.length - 1] = `${last[last.length - 1] ?? ''}; ${folded}`;
    }
    break;
  }
  return out;
}

function roleFor(piece: string, roles: readonly string[]): string {
  const wanted = ROLE_KEYWORDS.find(([, pattern]) => pattern.test(piece))?.[0] ?? 'implementer';
  if (roles.includes(wanted)) return wanted;
  return roles.includes('implementer') ? 'implementer' : (roles[0] ?? 'implementer');
}

/** A node's task within NODE_TASK_MAX characters; the rest is in the workflow task the node also reads. */
function bounded(task: string): string {
  if (task.length <= NODE_TASK_MAX) return task;
  const note = ' … (cut here: the rest is in the workflow task)';
  let cut = task.slice(0, NODE_TASK_MAX - note.length);
  // Never end on half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}${note}`;
}

const clean = (s: string): string => s.trim().replace(/^(?:and|,)\s+/i, '').replace(/[\s,]+$/, '');
const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;
