import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';

const CONCURRENT = 50;
const RUNS = 100;
const graph = {
  nodes: ['a', 'b', 'c', 'd'].map((id, i, all) => ({ id, role: 'tester', task: `step ${id}`, budgetPercent: 20, ...(i > 0 ? { dependencies: [all[i - 1]!] } : {}) })),
};

describe('close() after a burst of concurrent workflows (Postgres)', () => {
  let system: AgentSystem | null = null;
  afterEach(async () => {
    // A close that hung must not also hang the file: the test has already failed.
    void system?.close();
    system = null;
  });

  it(`resolves within 10 s once ${RUNS} sequential 4-node workflows ran ${CONCURRENT} at a time`, { timeout: 180_000 }, async () => {
    // 16 slots for 50 workflows: asks for a slot queue up, and agents give theirs up while queued.
    system = await testSystem('postgres', { model: { provider: 'offline', latencyMs: 0 }, maxConcurrentAgents: 16 });
    let next = 0;
    const statuses: string[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        while (next < RUNS) {
          next++;
          const wf = await system!.spawnWorkflow({ graph, task: 'four steps', budget: 100_000 });
          statuses.push((await wf.run()).status);
        }
      }),
    );
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(RUNS);
    const closing = system.close();
    const started = Date.now();
    const outcome = await Promise.race([closing.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 10_000).unref())]);
    const tookMs = Date.now() - started;
    console.log(`close() after ${RUNS} workflows, ${CONCURRENT} in flight: ${outcome} after ${tookMs} ms`);
    expect(outcome).toBe('closed');
    system = null;
  });
});
