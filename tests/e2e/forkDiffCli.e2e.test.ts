import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentSystem } from '../../src/system.js';
import type { RunFacts } from '../../src/system/compareRuns.js';
import { cadre as cadreIn, type CliRun } from '../support/embeddedCli.js';

/** `cadre fork` and `cadre diff` through the real bin, on the embedded store. */
const dir = mkdtempSync(join(tmpdir(), 'cadre-fork-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cadre = (...args: string[]): Promise<CliRun> => cadreIn(dir, ...args);

describe('cadre fork and cadre diff', () => {
  it('fork a finished agent at a revision, run the fork, and compare the two runs', { timeout: 120_000 }, async () => {
    const first = await createAgentSystem({ env: { CADRE_DATA_DIR: dir } });
    const source = await first.spawn({ role: 'researcher', task: 'Summarise the idea of forking', budget: 20_000 });
    expect((await source.run()).status).toBe('completed');
    const history = await first.history(source.id);
    const lead = await first.spawn({ role: 'lead', task: 'Hold a fork', budget: 40_000 });
    const workflow = await first.workflows.spawnWorkflow({ graph: { nodes: [{ id: 'only', role: 'tester', task: 'T', budgetPercent: 50 }] }, task: 'Fork me', budget: 20_000 });
    await first.close();
    const at = history.findLastIndex((e) => e.type === 'ModelReplied') - 1;

    const bad = await cadre('fork', source.id, '--at', '999');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --at/);

    const forked = await cadre('fork', source.id.slice(0, 8), '--at', String(at), '--budget', '30000', '--run', '--json');
    expect(forked.code, forked.stderr).toBe(0);
    const run = JSON.parse(forked.stdout) as { status: string; state: { id: string; budget: { allocated: number } } };
    expect(run.status).toBe('completed');
    const forkId = run.state.id;
    expect(run.state.budget.allocated).toBe(30_000);

    const json = await cadre('diff', source.id, forkId, '--json');
    expect(json.code, json.stderr).toBe(0);
    const diff = JSON.parse(json.stdout) as { a: RunFacts; b: RunFacts; gitDiff: string | null };
    expect(diff.a).toMatchObject({ id: source.id, status: 'completed', forkedFrom: null });
    expect(diff.b).toMatchObject({ id: forkId, status: 'completed', forkedFrom: { sourceId: source.id, sourceRevision: at } });
    expect(diff.a.tokens).toBeGreaterThan(0);
    expect(diff.b.tokens).toBeGreaterThan(0);
    expect(diff.b.tokens).toBeLessThanOrEqual(diff.a.tokens); // only the re-asked call is charged to it
    expect(diff.gitDiff).toBeNull();

    const under = await cadre('fork', source.id, '--at', String(at), '--under', lead.id, '--budget', '5000', '--json');
    expect(under.code, under.stderr).toBe(0);
    expect(JSON.parse(under.stdout)).toMatchObject({ parentId: lead.id, budget: { allocated: 5000 } });

    // Without --run the command only opens the fork: it runs nothing of it before it exits.
    const plain = await cadre('fork', source.id, '--at', String(at));
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^forked ${source.id} at revision ${at} as [0-9a-f-]{36} \\(status \\w+\\)`));
    const parked = plain.stdout.match(/ as ([0-9a-f-]{36})/)![1]!;
    const opened = JSON.parse((await cadre('history', parked, '--json')).stdout) as Array<{ type: string }>;
    expect(opened.map((e) => e.type)).not.toContain('ModelReplied');
    expect(opened.slice(-1)[0]!.type).not.toBe('AgentCompleted');

    // A workflow cut at its spawn takes its plan: the two are one commit, and the output says so.
    const atSpawn = await cadre('fork', workflow.id, '--at', '0');
    expect(atSpawn.code, atSpawn.stderr).toBe(0);
    expect(atSpawn.stdout).toMatch(new RegExp(`^forked ${workflow.id} at revision 1 \\(a workflow's spawn and its plan are one commit\\) as `));

    const text = await cadre('diff', source.id, forkId);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/outcome\s+a completed/);
    expect(text.stdout).toContain(`fork of ${source.id} at ${at}`);
    expect(text.stdout).toContain('git: no agents/<id> branch for both runs in this repository');
  });
});
