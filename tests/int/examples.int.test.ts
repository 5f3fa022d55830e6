import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem, AgentSystemOptions } from '../../src/system.js';
import { testSystem } from '../support/system.js';

/** Every examples/NN-*.ts runs here on a fresh in-memory system so the examples never rot. */
const dir = join(process.cwd(), 'examples');
const files = readdirSync(dir).filter((f) => /^\d\d-.*\.ts$/.test(f)).sort();

interface Example {
  main(system?: AgentSystem): Promise<Record<string, unknown>>;
  /** What the system must be made with (an example's MCP servers). */
  systemOptions?: AgentSystemOptions;
}

/** What each example must show, beyond finishing. */
const CHECKS: Record<string, (r: Record<string, unknown>) => void> = {
  '01-first-agent.ts': (r) => expect(r.status).toBe('completed'),
  '02-hierarchical-team.ts': (r) => {
    expect(r.status).toBe('completed');
    expect(r.grandchild).toBe('completed');
  },
  '03-workflow-from-template.ts': (r) => expect(r.status).toBe('completed'),
  '04-message-passing.ts': (r) => expect((r.received as unknown[])[0]).toEqual({ text: 'urgent: start now' }),
  '05-budget-tracking.ts': (r) => {
    expect(r.delegatedAfterSpawn).toBe(25_000);
    expect(r.delegatedAfterFire).toBe(15_000);
    expect(r.conservation).toBe(true);
  },
  '06-audit-and-replay.ts': (r) => {
    expect(r.statusAtSpawn).toBe('spawned');
    expect(r.statusNow).toBe('completed');
    expect(r.modelTurns).toBeGreaterThan(0);
  },
  '07-report-query.ts': (r) => expect((r.tree as string[]).length).toBe(3),
  '08-live-events.ts': (r) => {
    expect(r.status).toBe('completed');
    expect(r.agentsSeen).toBe(2);
    expect(r.events).toBeGreaterThan(10);
    expect(r.sameAsHistory).toBe(true);
  },
  '09-cancellation.ts': (r) => {
    expect(r).toMatchObject({ status: 'terminated', reason: 'cancelled', writer: 'terminated', waited: 'stopped waiting', analystAfterWait: 'waiting', analystEnd: 'terminated' });
    expect(r.leadBudget).toMatchObject({ reserved: 0, delegated: 0, available: 50_000 });
  },
  '10-tools-and-typed-output.ts': (r) => {
    expect(r.status).toBe('completed');
    expect(r.toolEvents).toEqual(['ToolCalled', 'ToolReturned']);
    expect(r.report).toMatchObject({ upToDate: true, summary: expect.stringContaining('lookup_release said') });
  },
  '12-approvals.ts': (r) => {
    expect(r).toMatchObject({ status: 'completed', waitedFor: 'approval', tool: 'deploy', answers: ['ApprovalRequested', 'ApprovalGranted'] });
    expect(r.output).toContain('deploy said: deployed');
  },
  '13-fork.ts': (r) => {
    expect(r).toMatchObject({ status: 'completed', sourceHistoryUnchanged: true, allocated: 16_000, forkedFrom: { sourceRevision: expect.any(Number), spentBefore: expect.any(Number) } });
    expect((r.tokens as { fork: number }).fork).toBeGreaterThan(0);
    const wf = r.workflow as { status: string; copied: string[]; nodes: string[] };
    expect(wf.status).toBe('completed');
    expect(wf.nodes.slice(0, wf.copied.length)).toEqual(wf.copied);
    expect(wf.nodes.length).toBeGreaterThan(wf.copied.length);
  },
  '11-mcp-server.ts': (r) => {
    expect(r.status).toBe('completed');
    expect(r.calls).toEqual(['calc__add -> 0', 'calc__echo_env -> FIXTURE_SECRET is set', 'calc__fail -> error: the fail tool always fails']);
    expect(r.secretInEvents).toBe(false);
  },
};

describe('examples', () => {
  let system: AgentSystem | null = null;
  afterEach(async () => {
    await system?.close();
    system = null;
  });

  it('has a check for every example', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(Object.keys(CHECKS)).toContain(f);
  });

  for (const file of files) {
    it(file, async () => {
      const mod = (await import(join(dir, file))) as Example;
      system = await testSystem('pglite', mod.systemOptions ?? {});
      const result = await mod.main(system);
      CHECKS[file]!(result);
    }, 60_000);
  }
});
