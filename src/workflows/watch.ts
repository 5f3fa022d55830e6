import { isTerminalStatus, statusOf } from '../actors/agentMachine.js';
import { progressOf, type WorkflowProgress } from './progress.js';
import { runtimeOf, type RuntimeLike } from './workflowRuntime.js';

export interface WatchOptions {
  /** How often the state is read; default 200 ms. */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/** What an ended child spent never changes: read once per watcher. */
type SpentCache = Map<string, number>;

/**
 * Reads a workflow's progress now: its nodes with status, attempt, budget and what each node's
 * child has spent.
 *
 * @example
 * const p = await readWorkflowProgress(system, id);
 * console.log(p.status, p.nodes.map((n) => `${n.id}:${n.status}`).join(' '));
 */
export async function readWorkflowProgress(target: RuntimeLike, id: string, cache: SpentCache = new Map()): Promise<WorkflowProgress> {
  const runtime = runtimeOf(target);
  const actor = await runtime.actor(id);
  const s = actor.snapshot;
  const c = s.context;
  const consumed: Record<string, number> = {};
  await Promise.all(
    Object.values(c.nodes).map(async (st) => {
      const childId = st.childId;
      if (!childId) return;
      const rec = c.children[childId];
      if (!rec) return;
      const cached = cache.get(childId);
      if (cached !== undefined) {
        consumed[childId] = cached;
        return;
      }
      if (rec.status === 'live') {
        const b = (await runtime.actor(childId).catch(() => null))?.snapshot.context.budget;
        if (b) consumed[childId] = b.consumed + b.spentBySubtree;
        return;
      }
      const ended = await runtime.replay(childId).catch(() => null);
      if (!ended) return;
      const spent = ended.budget.consumed + ended.budget.spentBySubtree;
      cache.set(childId, spent);
      consumed[childId] = spent;
    }),
  );
  return progressOf(c, statusOf(s.value), consumed);
}

/**
 * Follows a workflow: yields a progress snapshot now and whenever it changes (read every
 * `intervalMs`), and finishes after yielding the final one when the workflow ends.
 *
 * @example
 * for await (const p of followWorkflow(system, id)) render(p.nodes);
 */
export async function* followWorkflow(target: RuntimeLike, id: string, options: WatchOptions = {}): AsyncGenerator<WorkflowProgress, void, undefined> {
  const interval = options.intervalMs ?? 200;
  const cache: SpentCache = new Map();
  let last = '';
  for (;;) {
    if (options.signal?.aborted) return;
    const p = await readWorkflowProgress(target, id, cache);
    const key = JSON.stringify(p);
    if (key !== last) {
      last = key;
      yield p;
    }
    if (isTerminalStatus(p.status)) return;
    await pause(interval, options.signal);
  }
}

export interface WorkflowWatch {
  stop(): void;
  /** The last snapshot, once the workflow ended or the watch stopped. */
  readonly done: Promise<WorkflowProgress | null>;
}

/**
 * Calls `onUpdate` with every changed progress snapshot until the workflow ends or `stop()`.
 *
 * @example
 * const watch = watchWorkflow(system, id, (p) => drawTree(p));
 * const result = await runWorkflow(system, id);
 * await watch.done;
 */
export function watchWorkflow(target: RuntimeLike, id: string, onUpdate: (progress: WorkflowProgress) => void, options: WatchOptions = {}): WorkflowWatch {
  const stopper = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
  const done = (async () => {
    let last: WorkflowProgress | null = null;
    for await (const p of followWorkflow(target, id, { ...options, signal })) {
      last = p;
      onUpdate(p);
    }
    return last;
  })();
  return { stop: () => stopper.abort(), done };
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
