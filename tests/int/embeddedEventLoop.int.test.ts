import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';

/**
 * On the embedded store PGlite answers in this thread, and a run was one unbroken chain of promise
 * callbacks: no timer, signal, socket or HTTP request was served until it ended. A new user's
 * Ctrl-C on `cadre run` was seen only after the run had completed (exit 0), and its progress lines
 * came out in one burst at the end.
 */
describe('a run on the embedded store shares the event loop', () => {
  let system: AgentSystem | undefined;
  afterEach(() => system?.close());

  it('timers fire while a workflow runs (0 ticks of a 10 ms interval during a whole run before)', async () => {
    system = await testSystem('pglite');
    // Warm: the first run pays for compiling the schemas and queries.
    await (await system.workflows.spawnWorkflow({ templateId: 'research-report', task: 'warm up', budget: 80_000 })).run();
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const started = performance.now();
    const result = await (await system.workflows.spawnWorkflow({ templateId: 'research-report', task: 'Summarise X', budget: 80_000 })).run();
    const ms = performance.now() - started;
    clearInterval(interval);
    expect(result.status).toBe('completed');
    expect(ticks, `${ticks} ticks in ${ms.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.min(3, Math.floor(ms / 40)));
  }, 120_000);

  it('stopStarting (a CLI run stopped by Ctrl-C) leaves the tree as it stands: no node starts after it', async () => {
    system = await testSystem('pglite');
    const wf = await system.workflows.spawnWorkflow({ templateId: 'research-report', task: 'Summarise Y', budget: 80_000 });
    const run = wf.run();
    // Stopped once the first node has started.
    for (let i = 0; i < 400 && (await wf.progress()).nodes.every((n) => n.status === 'pending'); i++) await new Promise((r) => setTimeout(r, 5));
    system.internal.runtime.stopStarting();
    const settled = await Promise.race([run.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running'), 1_500))]);
    expect(settled).toBe('still running');
    const nodes = (await wf.progress()).nodes;
    expect(nodes.some((n) => n.status === 'pending'), JSON.stringify(nodes.map((n) => n.status))).toBe(true);
  }, 120_000);
});
