import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { AgentSystem } from '../../src/system.js';
import type { AgentHandle } from '../../src/actors/agentHandle.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { testSystem } from '../support/system.js';
import { launchChromium } from '../support/browser.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';
import { ModelError } from '../../src/errors.js';
import { readAgentTree } from '../../src/dashboard/readAgentTree.js';
import { subtreeBalance } from '../../src/dashboard/subtreeBalance.js';
import type { SubtreeMoney } from '../../src/dashboard/subtreeMoney.js';
import { authorized } from '../support/dashboardAuth.js';

/** The little of the DOM the page-side predicates touch (the test project has no DOM typings). */
type Win = { document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } }; __cadreMetrics?: Metrics };
type Metrics = { firstPaintMs: number | null; treeRows: number; updates: Array<{ totalMs: number; applyMs: number; rows: number }> };

const IMAGES = join(process.cwd(), 'docs', 'images');
const TASK = 'Add a slugify(text) function to src/text.js, with tests'; // the demo's (src/cli/commands/demo.ts)
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

describe('dashboard views in a real browser: waterfall, workflow graph, money, long text, a 1,000-agent tree', () => {
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let releaseReview!: () => void;

  beforeAll(async () => {
    // The demo's offline model, except that the implement node's first call fails (the template
    // retries it once) and the reviewer's replies name a priced model: two models. Calls are priced
    // as the model asked for (the provider's default, here a priced one), whatever a reply names.
    const offline = createOfflineProvider({ latencyMs: 30 });
    let implementFailed = false;
    const reviewGate = new Promise<void>((r) => (releaseReview = r));
    const scripted = createScriptedProvider(async (request) => {
      const role = request.agent?.role;
      if (role === 'implementer' && !implementFailed) {
        implementFailed = true;
        throw new ModelError('transient: the first implement attempt fails');
      }
      if (role === 'reviewer') await reviewGate;
      const reply = await offline.complete(request);
      return role === 'reviewer' ? { ...reply, model: 'claude-haiku-4-5' } : reply;
    });
    const model = { ...scripted, defaultModel: 'claude-haiku-4-5' };
    system = await testSystem('pglite', { model });
    dash = await startDashboard({ system, port: 0 });
    const launched = await launchChromium();
    browser = launched.browser;
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    mkdirSync(IMAGES, { recursive: true });
  });

  afterAll(async () => {
    releaseReview?.();
    await browser?.close();
    await dash?.close();
    await system?.close();
  });

  const shoot = async (name: string): Promise<void> => {
    await page.locator('#views').screenshot({ path: join(IMAGES, name) });
    console.log(`[dashboard views] screenshot docs/images/${name}`);
  };

  it('drives every view on the demo workflow, then opens a 1,000-agent tree and follows it live', async () => {
    await page.goto(dash.openUrl);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });

    // The demo's workflow, started while the page is open.
    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: TASK, budget: 120_000 });
    const run = wf.run();

    // Workflow graph: the DAG as soon as it is planned, its status live.
    await page.waitForSelector('#tab-graph:not([disabled])', { timeout: 15_000 });
    await page.click('#tab-graph');
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.gnode').length === 4, null, { timeout: 15_000 });
    // The reviewer's model call waits for the test: the page shows review running, the rest done.
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.gnode[data-status="running"][data-node-id="review"]').length === 1, null, { timeout: 15_000 });
    expect(await page.$$eval('.gnode', (els) => els.map((e) => e.getAttribute('data-status')))).toEqual(['completed', 'completed', 'completed', 'running']);

    // Waterfall, live: the reviewer's bar runs, its model call open; once released, both end, as events arrive.
    await page.click('#tab-waterfall');
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.wf-row[data-status="running"]').length === 2, null, { timeout: 15_000 }); // the workflow and review
    expect(await page.locator('.wf-call.wf-model[data-status="running"]').count()).toBe(1);
    releaseReview();
    expect((await run).status).toBe('completed');
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.wf-row[data-status="ok"]').length === 5, null, { timeout: 15_000 });
    // One row per agent, nested: the workflow, then its five children (implement twice).
    const wfRows = await page.$$eval('.wf-row', (els) => els.map((e) => ({ name: e.querySelector('.wf-name')?.textContent, status: e.getAttribute('data-status'), indent: (e.querySelector('.wf-name') as unknown as { style: { paddingLeft: string } }).style.paddingLeft })));
    expect(wfRows.map((r) => `${r.name}:${r.status}`)).toEqual(['tdd-workflow:ok', 'design:ok', 'tests:ok', 'implement:error', 'implement:ok', 'review:ok']);
    expect(new Set(wfRows.slice(1).map((r) => r.indent)).size).toBe(1);
    expect(wfRows[0]!.indent).not.toBe(wfRows[1]!.indent);
    // Sub-bars coloured by outcome: the failed first try's model call is an error.
    expect(await page.locator('.wf-row[data-status="error"] .wf-call.wf-model[data-status="error"]').count()).toBe(1);
    expect(await page.locator('.wf-call.wf-model[data-status="ok"]').count()).toBe(4);
    // Hover names tokens, cost and duration.
    await page.locator('.wf-row', { hasText: 'review' }).locator('.wf-call.wf-model').hover();
    const tip = (await page.textContent('.wf-tip')) ?? '';
    expect(tip).toMatch(/model chat .* · ok · [\d.]+ (ms|s) · [\d.k]+ in \+ [\d.k]+ out tokens · \$0\.\d+ · claude-haiku-4-5/);
    await shoot('dashboard-waterfall.png');
    // Time travel over global positions: early on, only the workflow had spawned.
    const spawnedAt = (await system.history(wf.id))[0]!.position;
    await page.$eval('#wf-slider', (e, v) => { const s = e as unknown as { value: string; dispatchEvent(ev: unknown): void }; s.value = String(v); s.dispatchEvent(new Event('input', { bubbles: true })); }, spawnedAt);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.wf-row').length === 1, null, { timeout: 10_000 });
    expect(await page.textContent('.wf-pos')).toMatch(new RegExp(`^position ${spawnedAt} of \\d+$`));
    await page.$eval('#wf-slider', (e) => { const s = e as unknown as { max: string; value: string; dispatchEvent(ev: unknown): void }; s.value = s.max; s.dispatchEvent(new Event('input', { bubbles: true })); });
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.wf-row').length === 6, null, { timeout: 10_000 });
    // Clicking a row opens its agent.
    await page.locator('.wf-row', { hasText: 'design' }).click();
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#agent-title')?.textContent?.startsWith('architect') === true, null, { timeout: 10_000 });
    await page.click('#tab-graph');
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.gnode[data-status="completed"]').length === 4, null, { timeout: 15_000 });
    const graph = await page.$$eval('.gnode', (els) => els.map((e) => ({ id: e.getAttribute('data-node-id'), x: Number(/translate\(([\d.]+)/.exec(e.getAttribute('transform') ?? '')?.[1]), text: e.textContent ?? '', attempts: Array.from(e.querySelectorAll('circle.attempt') as unknown as ArrayLike<{ getAttribute(n: string): string | null }>).map((c) => c.getAttribute('data-status')) })));
    // Left to right in dependency order, with the template's budget percents.
    expect(graph.map((n) => n.id)).toEqual(['design', 'tests', 'implement', 'review']);
    expect(graph.map((n) => n.x)).toEqual([...graph.map((n) => n.x)].sort((a, b) => a - b));
    expect(new Set(graph.map((n) => n.x)).size).toBe(4);
    expect(graph.map((n) => /· (\d+)%/.exec(n.text)?.[1])).toEqual(['15', '25', '40', '20']);
    expect(await page.$$eval('path.edge', (els) => els.map((e) => `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}`))).toEqual(['design>tests', 'tests>implement', 'implement>review']);
    // The retried node shows both attempts: the failed one, then the one that completed.
    const implement = graph.find((n) => n.id === 'implement')!;
    expect(implement.attempts).toEqual(['failed', 'completed']);
    expect(implement.text).toContain('2 attempts');
    await shoot('dashboard-graph.png');

    // Clicking a node opens its agent.
    await page.click('.gnode[data-node-id="review"]');
    await page.waitForFunction(() => ((globalThis as unknown as Win).document.querySelector('#agent-title')?.textContent ?? '').startsWith('reviewer'), null, { timeout: 10_000 });

    // A model call's prompt is fetched from the blob table when its line is opened, and shown as text.
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('#timeline li.cat-model').length > 0, null, { timeout: 10_000 });
    await page.locator('#timeline li', { hasText: 'ModelRequested' }).first().click();
    await page.waitForSelector('#timeline .event-data .prompt-head', { timeout: 10_000 });
    const prompt = await page.locator('#timeline .event-data pre.payload').last().textContent();
    expect(prompt).toContain('Review the implementation and the tests against the design');
    expect(prompt).toContain('"messages"');

    // Reading long text: the workflow's result (every node's output) is folded, with "show all".
    await page.click(`.node[data-agent-id="${wf.id}"]`);
    await page.waitForSelector('#agent-summary .result .collapsible.folded', { timeout: 10_000 });
    const folded = await page.$eval('#agent-summary .result .collapsible', (e) => (e as unknown as { clientHeight: number; scrollHeight: number }).clientHeight);
    const more = page.locator('#agent-summary .result button.more');
    expect(await more.textContent()).toMatch(/^show all \([\d,]+ characters\)$/);
    await more.click();
    await page.waitForSelector('#agent-summary .result .collapsible:not(.folded)');
    const unfolded = await page.$eval('#agent-summary .result .collapsible', (e) => (e as unknown as { clientHeight: number }).clientHeight);
    expect(unfolded).toBeGreaterThan(folded);
    expect(await more.textContent()).toBe('show less');
    // No node's output holds its predecessors' outputs (the offline model quotes its own task only).
    const outputs = (await readAgentTree(system, wf.id)).children.map((c) => c.output ?? '');
    expect(outputs).toHaveLength(5); // four nodes, implement twice
    for (const o of outputs) expect(o.length).toBeLessThan(400);
    // A timeline line opens onto the whole event, itself folded when long.
    await page.click('#timeline li:first-child');
    await page.waitForSelector('#timeline li:first-child .event-data pre.payload');

    // Money: the same numbers as `cadre budget --subtree` and `cadre report` (reports.costByRole).
    await page.click('#tab-money');
    await page.waitForSelector('#view-money .money-total', { timeout: 15_000 });
    const money = (await (await fetch(`${dash.url}api/money/${wf.id}`, { headers: authorized(dash) })).json()) as SubtreeMoney;
    const budget = subtreeBalance(await readAgentTree(system, wf.id));
    expect(money.total.consumed).toBe(budget.consumed);
    expect(money.total.costUsd).toBeCloseTo(budget.costUsd, 10);
    expect(money.total.costUsd).toBeGreaterThan(0);
    await system.reports.waitFor(await system.store.headPosition(), 10_000);
    const report = await system.reports.costByRole(wf.id);
    expect(money.byRole.map((r) => ({ ...r, costUsd: Number(r.costUsd.toFixed(9)) }))).toEqual(report.map((r) => ({ ...r, costUsd: Number(r.costUsd.toFixed(9)) })));
    // Per model: the offline rules and the priced reviewer, adding up to the total.
    expect(money.byModel.map((m) => m.model).sort()).toEqual(['claude-haiku-4-5', 'offline-rules-v1']);
    expect(money.byModel.reduce((s, m) => s + m.consumed, 0)).toBe(money.total.consumed);
    expect(money.series.at(-1)!.tokens).toBe(money.total.consumed);
    // What the page shows is those numbers.
    const shown = await page.$eval('#view-money .money-total', (e) => ({ consumed: Number(e.getAttribute('data-consumed')), costUsd: Number(e.getAttribute('data-cost-usd')) }));
    expect(shown).toEqual({ consumed: money.total.consumed, costUsd: money.total.costUsd });
    expect(await page.$$eval('#view-money table.by-role tbody tr', (rows) => rows.map((r) => r.firstChild?.textContent))).toEqual(report.map((r) => r.role));
    expect(await page.locator('#view-money svg.money-chart path.line-tokens').count()).toBe(1);
    await shoot('dashboard-money.png');

    // Scale: 1,000 agents (a root, 9 leads, 110 workers each), spawned without model calls while
    // no page is open (a page following them would measure its own catching up, not first paint).
    await page.goto('about:blank');
    const t0 = Date.now();
    const root = await system.spawn({ role: 'coordinator', task: 'A thousand agents', budget: 10_000_000 });
    const leads: AgentHandle[] = [];
    for (let i = 0; i < 9; i++) leads.push(await root.spawn({ role: 'lead', task: `Team ${i}`, budget: 200_000 }));
    const workers = await Promise.all(leads.map(async (lead) => {
      const mine: AgentHandle[] = [];
      for (let j = 0; j < 110; j++) mine.push(await lead.spawn({ role: 'worker', task: `Part ${j}`, budget: 1_500 }));
      return mine;
    }));
    console.log(`[dashboard views] 1,000 agents spawned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await system.reports.waitFor(await system.store.headPosition(), 30_000);

    // First paint: a fresh page on the newest root, the 1,000-agent tree.
    await page.goto(dash.openUrl);
    await page.waitForFunction(() => (globalThis as unknown as Win).__cadreMetrics?.treeRows === 1000, null, { timeout: 20_000 });
    const firstPaint = (await page.evaluate('window.__cadreMetrics.firstPaintMs')) as number;
    // Then the full tree (live agents folded) replaces the sketch.
    await page.waitForFunction(() => typeof (globalThis as unknown as { __cadreMetrics?: { fullTreeMs?: number } }).__cadreMetrics?.fullTreeMs === 'number', null, { timeout: 20_000 });
    const fullTree = (await page.evaluate('window.__cadreMetrics.fullTreeMs')) as number;
    const inDom = await page.locator('#tree .node').count();
    console.log(`[dashboard views] 1,000-agent tree: first paint ${firstPaint.toFixed(0)} ms after navigation (the read model's rows), the full tree ${fullTree.toFixed(0)} ms; ${inDom} rows in the DOM`);
    expect(firstPaint).toBeLessThan(2_000);
    expect(inDom).toBeLessThan(80); // virtualised: only the rows in view
    // Scrolling to the end draws the last rows.
    await page.$eval('#tree', (e) => { (e as unknown as { scrollTop: number; scrollHeight: number }).scrollTop = 1e9; });
    await page.waitForSelector(`.node[data-agent-id="${workers[8]!.at(-1)!.id}"]`, { timeout: 5_000 });
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });

    // Live: new agents and finished ones arrive as single rows, not a refetched tree.
    const treeFetches: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/api/tree/')) treeFetches.push(r.url()); });
    for (let k = 0; k < 10; k++) await leads[0]!.spawn({ role: 'late', task: `Late ${k}`, budget: 1_000 });
    await Promise.all(workers[1]!.slice(0, 10).map((w) => w.run()));
    await page.waitForFunction(() => (globalThis as unknown as Win).__cadreMetrics?.treeRows === 1010, null, { timeout: 20_000 });
    // The ten runs' rows too: their events arrive while the runs go on (the embedded store lets the
    // event loop turn between queries), so the count read right after the spawns' rows was a race.
    await page.waitForFunction(() => ((globalThis as unknown as { __cadreMetrics?: Metrics }).__cadreMetrics?.updates.length ?? 0) >= 20, null, { timeout: 20_000 });
    const m = (await page.evaluate('window.__cadreMetrics')) as Metrics;
    const apply = m.updates.map((u) => u.applyMs);
    const total = m.updates.map((u) => u.totalMs);
    console.log(`[dashboard views] live updates on 1,000 agents: ${m.updates.length} rows patched; applying one batch p50 ${pct(apply, 50).toFixed(1)} ms, p95 ${pct(apply, 95).toFixed(1)} ms, max ${Math.max(...apply).toFixed(1)} ms; event to painted row (row fetch included) p50 ${pct(total, 50).toFixed(0)} ms, p95 ${pct(total, 95).toFixed(0)} ms`);
    // One event on its own, the machine quiet: from its arrival to its row painted, fetch included.
    const single: number[] = [];
    for (let k = 0; k < 5; k++) {
      await page.evaluate('window.__cadreMetrics.updates = []');
      await leads[2]!.spawn({ role: 'late', task: `Alone ${k}`, budget: 1_000 });
      await page.waitForFunction((n) => (globalThis as unknown as Win).__cadreMetrics?.treeRows === n, 1011 + k, { timeout: 10_000 });
      single.push(...((await page.evaluate('window.__cadreMetrics.updates')) as Metrics['updates']).map((u) => u.totalMs));
    }
    console.log(`[dashboard views] a lone live event on 1,000 agents, arrival to painted row: p50 ${pct(single, 50).toFixed(0)} ms, max ${Math.max(...single).toFixed(0)} ms (${single.length} rows)`);
    const t1 = Date.now();
    await fetch(`${dash.url}api/tree/${root.id}`, { headers: authorized(dash) });
    console.log(`[dashboard views] GET /api/tree of 1,000 agents: ${Date.now() - t1} ms`);
    // The other views on the same tree: the waterfall (a span per agent) and the money view.
    const timed = async (path: string): Promise<[number, number]> => {
      const t = Date.now();
      const r = await fetch(`${dash.url}${path}`, { headers: authorized(dash) });
      const bytes = (await r.arrayBuffer()).byteLength;
      expect(r.status).toBe(200);
      return [Date.now() - t, bytes];
    };
    const [traceMs, traceBytes] = await timed(`api/trace/${root.id}`);
    const [moneyMs] = await timed(`api/money/${root.id}`);
    let t2 = Date.now();
    await page.click('#tab-waterfall');
    await page.waitForFunction((n) => (globalThis as unknown as Win).document.querySelectorAll('.wf-row').length >= n, 1000, { timeout: 30_000 });
    const waterfallMs = Date.now() - t2;
    t2 = Date.now();
    await page.click('#tab-money');
    await page.waitForSelector('#view-money .money-total', { timeout: 30_000 });
    const moneyViewMs = Date.now() - t2;
    console.log(`[dashboard views] 1,000-agent tree: GET /api/trace ${traceMs} ms (${(traceBytes / 1024).toFixed(0)} KB), GET /api/money ${moneyMs} ms; waterfall tab to ${await page.locator('.wf-row').count()} rows ${waterfallMs} ms, money tab ${moneyViewMs} ms`);
    expect(waterfallMs).toBeLessThan(10_000);
    expect(m.updates.length).toBeGreaterThanOrEqual(20);
    expect(pct(apply, 95)).toBeLessThan(50);
    expect(treeFetches).toEqual([]);
    // The patched totals agree with the server's tree: the root's subtree tokens.
    const server = await readAgentTree(system, root.id);
    await page.waitForFunction((want) => ((globalThis as unknown as Win).document.querySelector(`.node[data-agent-id="${want.id}"] .tokens`)?.textContent ?? '').length > 0, { id: root.id }, { timeout: 5_000 }).catch(() => undefined);
    expect(server.subtreeConsumed).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  }, 150_000);

  it('answers the new routes\' wrong questions with a 4xx naming them', async () => {
    const plain = await system.spawn({ role: 'solo', task: 'nothing', budget: 1_000 });
    const status = async (path: string): Promise<[number, string]> => {
      const r = await fetch(`${dash.url}${path}`, { headers: authorized(dash) });
      return [r.status, ((await r.json()) as { error?: string }).error ?? ''];
    };
    expect(await status(`api/workflows/${plain.id}/graph`)).toEqual([400, expect.stringMatching(/not a workflow/)]);
    expect((await status('api/money/no-such-agent'))[0]).toBe(404);
    expect((await status(`api/agents/${plain.id}/prompt/no-such-call`))[0]).toBe(404);
    expect((await status(`api/agents/${plain.id}/row`))[0]).toBe(200);
    expect((await status(`api/workflows/${plain.id}/graph/extra`))[0]).toBe(404);
  });
});
