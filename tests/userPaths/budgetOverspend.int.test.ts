import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCadre, type CliRun } from '../support/cadreCli.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fakeMessagesApi.js';

/**
 * Issue 16, case 3, as a user meets it: the CLI against a Messages API (here the local one)
 * whose reply reports 20,100 tokens for a child of 10,000. Each command is its own process on
 * one embedded store, as a user runs them one after another.
 */
describe('user path: a provider overspends a child budget (cadre spawn --run, budget --subtree, status)', () => {
  let api: FakeMessagesApi;
  let dataDir: string;

  async function cadre(...args: string[]): Promise<CliRun> {
    const env: NodeJS.ProcessEnv = {
      ...process.env, CADRE_DATA_DIR: join(dataDir, 'db'), NO_COLOR: '1', LOG_LEVEL: 'error',
      ANTHROPIC_API_KEY: 'sk-test-user-path', ANTHROPIC_BASE_URL: api.url,
    };
    delete env.DATABASE_URL;
    delete env.EVENT_STORE;
    return runCadre(args, env);
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'cadre-overspend-'));
    api = await startFakeMessagesApi();
    api.setFallback(() => ({ kind: 'message', message: { content: [{ type: 'text', text: 'hello' }], stopReason: 'end_turn', usage: { input_tokens: 20_000, output_tokens: 100 } } }));
  });
  afterAll(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every printed `… allocated [+ … overspent] = … + …` line, checked as arithmetic. */
  function conservationLines(text: string): string[] {
    const lines = text.split('\n').filter((l) => /\d+ allocated.* = /.test(l));
    for (const line of lines) {
      const eq = line.slice(line.indexOf(' = ') + 3);
      const lhs = line.slice(0, line.indexOf(' = ')).replace(/^.*?(\d+ allocated)/, '$1');
      const total = (side: string): number => [...side.matchAll(/(\d+) [a-z ]+?(?= \+ |$)/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(total(lhs), line).toBe(total(eq));
    }
    return lines;
  }

  /** The budget --subtree table's summable columns, added up. */
  function columnSums(text: string): Record<string, number> {
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('AGENT '));
    const names = lines[header]!.trim().split(/\s+/);
    const body = lines.slice(header + 2);
    const rows = body.slice(0, body.indexOf('')).map((l) => l.trim().split(/\s+/).slice(-names.length + 1));
    const at = (col: string): number => rows.reduce((a, r) => a + Number(r[names.indexOf(col) - 1]), 0);
    return { CONSUMED: at('CONSUMED'), RESERVED: at('RESERVED'), AVAILABLE: at('AVAILABLE') };
  }

  it('prints balances that add up, with the overspend shown, and the child failed budget_exceeded', async () => {
    const root = await cadre('spawn', '--role', 'lead', '--task', 'delegate', '--budget', '50000', '--json');
    expect(root.stderr).toBe('');
    const rootId = (JSON.parse(root.stdout) as { id: string }).id;

    const child = await cadre('spawn', '--role', 'worker', '--task', 'say hello', '--budget', '10000', '--parent', rootId, '--run', '--json');
    expect(child.code).not.toBe(0); // it failed
    const childState = (JSON.parse(child.stdout) as { state: { id: string; status: string; result: { cause: string } } }).state;
    expect(childState).toMatchObject({ status: 'failed', result: { cause: 'budget_exceeded' } });
    expect(api.messageRequests()).toHaveLength(1);

    const subtree = await cadre('budget', rootId, '--subtree');
    expect(subtree.stderr).toBe('');
    const [line] = conservationLines(subtree.stdout);
    expect(line).toContain('subtree: 50000 allocated = 20100 consumed + 29900 available');
    expect(subtree.stdout).toMatch(/OVERSPENT/);
    // ALLOCATED CONSUMED RESERVED AVAILABLE RETURNED OVERSPENT: the worker's overspend was charged to the lead.
    expect(subtree.stdout).toMatch(/worker \S+\s+failed\s+10000\s+20100\s+0\s+0\s+0\s+10100/);
    expect(columnSums(subtree.stdout)).toEqual({ CONSUMED: 20100, RESERVED: 0, AVAILABLE: 29900 });

    const status = await cadre('status', childState.id);
    expect(status.stderr).toBe('');
    // It ended: what it had left went back to its parent, and its lines say so.
    expect(status.stdout).toContain('20100 of 10000 consumed, 0 returned to its parent, 10100 OVERSPENT');
    expect(conservationLines(status.stdout)).toEqual([expect.stringContaining('10000 allocated + 10100 overspent = 20100 consumed + 0 returned to its parent')]);

    const rootStatus = await cadre('status', rootId);
    expect(conservationLines(rootStatus.stdout)).toEqual([expect.stringContaining('50000 allocated = 0 consumed + 20100 spent by subtree + 29900 available')]);

    const childBudget = await cadre('budget', childState.id);
    expect(conservationLines(childBudget.stdout)).toHaveLength(1);
  }, 300_000);
});
