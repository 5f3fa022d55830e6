import { describe, expect, it } from 'vitest';
import { summariseMoney, type Settlement } from '../../src/dashboard/subtreeMoney.js';
import type { AgentNode } from '../../src/dashboard/agentTree.js';

const agent = (id: string, role: string, consumed: number, costUsd: number): AgentNode => ({
  id, role, kind: 'agent', task: 't', status: 'completed', activity: null, parentId: null, depth: 0, revision: 0,
  budget: { allocated: 1000, consumed, reserved: 0, delegated: 0, spentBySubtree: 0, reclaimed: 0, available: 0, overspent: 0 } as AgentNode['budget'],
  returned: null, costUsd, subtreeCostUsd: costUsd, subtreeConsumed: consumed, nodeId: null, workspace: null, output: null, reason: null, children: [],
});
const settled = (at: string, agentId: string, role: string, model: string, consumed: number, costUsd: number): Settlement => ({ at, agentId, role, model, consumed, costUsd });

describe('summariseMoney', () => {
  it('totals, a running series in time order, and splits by role (every agent) and by model that add up', () => {
    const agents = [agent('a', 'lead', 0, 0), agent('b', 'worker', 300, 0.003), agent('c', 'worker', 200, 0), agent('d', 'reviewer', 300, 0.01)];
    const m = summariseMoney('a', agents, [
      settled('2026-12-05T10:00:02.000Z', 'b', 'worker', 'claude-haiku-4-5', 300, 0.003),
      settled('2026-12-05T10:00:01.000Z', 'c', 'worker', 'offline-rules-v1', 200, 0),
      settled('2026-12-05T10:00:03.000Z', 'd', 'reviewer', 'claude-sonnet-4-6', 300, 0.01),
    ]);
    expect(m.total).toMatchObject({ consumed: 800, agents: 4 });
    expect(m.total.costUsd).toBeCloseTo(0.013, 12);
    expect(m.series.map((p) => p.tokens)).toEqual([200, 500, 800]);
    expect(m.series.at(-1)!.costUsd).toBeCloseTo(0.013, 12);
    // Most tokens first, ties by name; a role that spent nothing is still counted.
    expect(m.byRole).toEqual([
      { role: 'worker', agents: 2, consumed: 500, costUsd: 0.003 },
      { role: 'reviewer', agents: 1, consumed: 300, costUsd: 0.01 },
      { role: 'lead', agents: 1, consumed: 0, costUsd: 0 },
    ]);
    expect(m.byModel.map((r) => [r.model, r.calls, r.consumed])).toEqual([['claude-haiku-4-5', 1, 300], ['claude-sonnet-4-6', 1, 300], ['offline-rules-v1', 1, 200]]);
  });

  it('an agent with no settled call yet: zero totals and an empty series', () => {
    const m = summariseMoney('a', [agent('a', 'lead', 0, 0)], []);
    expect(m).toMatchObject({ total: { consumed: 0, costUsd: 0, agents: 1 }, series: [], byModel: [] });
  });
});
