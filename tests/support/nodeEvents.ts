/**
 * A workflow's node starts and completions as its history records them, in either shape: today's
 * (ChildSpawned v4 starts a node, `nodeAttempt`; ChildFinished v3 completes one, `completesNode`)
 * or an older stream's (the NodeStarted / NodeCompleted after them). `at`: the event's index.
 */

type Recorded = { readonly type: string; readonly data: unknown };

export interface NodeStartRecord {
  readonly nodeId: string;
  readonly childId: string;
  readonly attempt: number;
  readonly budget: number;
  readonly at: number;
}

export interface NodeCompletionRecord {
  readonly nodeId: string;
  readonly childId: string;
  readonly output: string;
  readonly at: number;
}

export function nodeStarts(history: readonly Recorded[]): NodeStartRecord[] {
  return history.flatMap((e, at) => {
    const d = e.data as { nodeId?: string; childId: string; attempt?: number; nodeAttempt?: number | null; budget: number };
    if (e.type === 'NodeStarted') return [{ nodeId: d.nodeId!, childId: d.childId, attempt: d.attempt!, budget: d.budget, at }];
    if (e.type === 'ChildSpawned' && d.nodeAttempt != null) return [{ nodeId: d.nodeId!, childId: d.childId, attempt: d.nodeAttempt, budget: d.budget, at }];
    return [];
  });
}

export function nodeCompletions(history: readonly Recorded[]): NodeCompletionRecord[] {
  return history.flatMap((e, at) => {
    const d = e.data as { nodeId?: string; childId: string; output: string | null; completesNode?: string | null };
    if (e.type === 'NodeCompleted') return [{ nodeId: d.nodeId!, childId: d.childId, output: d.output ?? '', at }];
    if (e.type === 'ChildFinished' && d.completesNode != null) return [{ nodeId: d.completesNode, childId: d.childId, output: d.output ?? '', at }];
    return [];
  });
}
