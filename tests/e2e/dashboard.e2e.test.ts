import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { AgentSystem } from '../../src/system.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { testSystem } from '../support/system.js';
import { launchChromium } from '../support/browser.js';
import { agentTree } from '../../src/dashboard/agentTree.js';
import { subtreeBalance } from '../../src/dashboard/subtreeBalance.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { authorized } from '../support/dashboardAuth.js';

/** The little of the DOM the page-side predicates touch (the test project has no DOM typings). */
type Win = { document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } } };

/** The time-travel box's balance, `cadre budget --subtree`'s line: its numbers, or a throw naming the text. */
function parseSubtreeLine(text: string): { allocated: number; overspent: number; consumed: number; reserved: number; available: number } {
  const m = /subtree: (\d+) allocated(?: \+ (\d+) overspent)? = (\d+) consumed(?: \+ (\d+) reserved)? \+ (\d+) available/.exec(text);
  if (!m) throw new Error(`no subtree balance line in ${JSON.stringify(text)}`);
  return { allocated: Number(m[1]), overspent: Number(m[2] ?? 0), consumed: Number(m[3]), reserved: Number(m[4] ?? 0), available: Number(m[5]) };
}
const sums = (b: ReturnType<typeof parseSubtreeLine>): boolean => b.allocated + b.overspent === b.consumed + b.reserved + b.available;


describe('dashboard in a real browser', () => {
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 150 } });
    dash = await startDashboard({ system, port: 0 });
    const launched = await launchChromium();
    browser = launched.browser;
    console.log(`[dashboard e2e] browser: ${launched.source}`);
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await system?.close();
  });

  it('shows a tree appear and complete live, travels back in time, and renders a non-blank page', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    // Browser-side code is passed as source text: the test project has no DOM typings.
    const moveSlider = (v: number) => page.evaluate(`(() => { const s = document.querySelector('#slider'); s.value = '${v}'; s.dispatchEvent(new Event('input', { bubbles: true })); })()`);
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.openUrl);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    // The token left the address bar; the page keeps it for the tab and sends it as a header.
    expect(page.url()).toBe(dash.url);
    expect(await page.evaluate('document.cookie')).toBe('');

    // Start the work while the page is open: a root with two children (a workflow when wired).
    const lead = await system.spawn({ role: 'lead', task: 'Ship the dashboard demo', budget: 40_000 });
    await lead.spawn({ role: 'implementer', task: 'Write the code', budget: 10_000 });
    await lead.spawn({ role: 'tester', task: 'Write the tests', budget: 8_000 });
    await page.waitForSelector(`.node[data-agent-id="${lead.id}"]`, { timeout: 15_000 });
    const result = await lead.run();
    expect(result.status).toBe('completed');

    // Every node arrives and shows completed, through the server-sent events alone.
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('.node[data-status="completed"]').length === 3, null, { timeout: 20_000 });
    const roles = await page.$$eval('.node .name', (els) => els.map((e) => e.textContent ?? ''));
    expect(roles.join(' ')).toMatch(/lead.*implementer.*tester/);

    // The timeline reads as model turns and tool calls.
    await page.click(`.node[data-agent-id="${lead.id}"]`);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('#timeline li').length > 5);
    const timeline = await page.$$eval('#timeline li', (els) => els.map((e) => e.textContent ?? ''));
    expect(timeline.some((t) => t.includes('ModelReplied'))).toBe(true);
    // The model's finish call shows in its reply; the end it makes is the next line.
    expect(timeline.some((t) => t.includes('ModelReplied') && t.includes('→ finish('))).toBe(true);
    expect(timeline.some((t) => t.includes('AgentCompleted'))).toBe(true);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#past-status')?.textContent === 'completed');

    // No stray "null" under the result (replaceChildren once turned a null child into that text).
    const summary = await page.$eval('#agent-summary', (e) => (e as unknown as { innerText: string }).innerText);
    expect(summary).toContain('result: completed');
    expect(summary.split('\n').map((l) => l.trim())).not.toContain('null');

    // The tree picker names each root by role, task and status, not by id alone. It is refreshed
    // by the root's own events, one refresh after the tree's (that showed it completed) at most.
    await page.waitForFunction(() => ((globalThis as unknown as Win).document.querySelector('#roots option')?.textContent ?? '').includes('completed'), null, { timeout: 10_000 });
    const options = await page.$$eval('#roots option', (els) => els.map((e) => e.textContent ?? ''));
    expect(options[0]).toContain('lead');
    expect(options[0]).toContain('Ship the dashboard demo');
    expect(options[0]).toContain('completed');

    // Now: the subtree's balance adds up and is the one `cadre budget --subtree` prints.
    const now = parseSubtreeLine((await page.textContent('#past-budget')) ?? '');
    expect(sums(now)).toBe(true);
    expect(now.consumed).toBeGreaterThan(0);
    const cli = subtreeBalance(await agentTree(system, lead.id));
    expect(now).toEqual({ allocated: cli.allocated, overspent: cli.overspent, consumed: cli.consumed, reserved: cli.reserved, available: cli.available });

    // Every revision in between balances too, children mid-run included.
    const last = Number((await lead.state()).revision);
    for (let r = 0; r <= last; r++) {
      const past = (await (await fetch(`${dash.url}api/agents/${lead.id}/replay?to=${r}`, { headers: authorized(dash) })).json()) as { subtree: { line: string } };
      expect(sums(parseSubtreeLine(past.subtree.line)), `revision ${r}: ${past.subtree.line}`).toBe(true);
    }

    // Time travel: revision 0 is the spawn.
    await moveSlider(0);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#past-revision')?.textContent === '0');
    expect(await page.textContent('#past-status')).toBe('spawned');
    expect(await page.textContent('#past-budget')).toContain('40000 allocated');
    expect(parseSubtreeLine((await page.textContent('#past-budget')) ?? '')).toEqual({ allocated: 40_000, overspent: 0, consumed: 0, reserved: 0, available: 40_000 });
    const past = await system.replay(lead.id, { toRevision: 0 });
    expect(past.status).toBe('spawned');

    // A revision in the middle agrees with the server-side replay.
    const mid = Math.floor(Number((await lead.state()).revision) / 2);
    await moveSlider(mid);
    await page.waitForFunction((v) => (globalThis as unknown as Win).document.querySelector('#past-revision')?.textContent === String(v), mid);
    expect(await page.textContent('#past-status')).toBe((await system.replay(lead.id, { toRevision: mid })).status);
    expect(sums(parseSubtreeLine((await page.textContent('#past-budget')) ?? ''))).toBe(true);

    // Screenshot: saved, non-trivial, and with real content (many non-background pixels).
    const file = join(tmpdir(), `cadre-dashboard-${Date.now()}.png`);
    const png = await page.screenshot({ path: file, fullPage: true });
    console.log(`[dashboard e2e] screenshot: ${file}`);
    expect(statSync(file).size).toBeGreaterThan(20_000);
    const inked = (await page.evaluate(`(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const g = canvas.getContext('2d');
      g.drawImage(img, 0, 0);
      const data = g.getImageData(0, 0, img.width, img.height).data;
      const bg = [data[0], data[1], data[2]];
      let differ = 0;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4 * 7) {
        if (Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1]) + Math.abs(data[i + 2] - bg[2]) > 30) differ++;
        colours.add((data[i] >> 4) * 256 + (data[i + 1] >> 4) * 16 + (data[i + 2] >> 4));
      }
      return { share: differ / (data.length / 28), colours: colours.size };
    })(${JSON.stringify(png.toString('base64'))})`)) as { share: number; colours: number };
    expect(inked.share).toBeGreaterThan(0.05);
    expect(inked.colours).toBeGreaterThan(8);
    const treeBox = await page.locator('#tree').boundingBox();
    expect(treeBox!.height).toBeGreaterThan(60);
    expect(errors).toEqual([]);
  }, 120_000);

  it('says so across the page when opened without its token (it said "No agents yet")', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(dash.url);
      await page.waitForSelector('#notice:not([hidden])', { timeout: 15_000 });
      expect(await page.textContent('#notice')).toContain('open the address cadre serve printed (it ends in #token=…;');
      expect(await page.textContent('#conn')).toBe('no access');
    } finally {
      await page.close();
    }
  });

  it('requires a token off loopback, checks it on the API and the event stream, and never shows secrets', async () => {
    await expect(startDashboard({ system, host: '0.0.0.0', port: 0 })).rejects.toThrow(/token/);
    const guarded = await startDashboard({ system, host: '127.0.0.1', port: 0, token: 's3cret-token-123' });
    try {
      expect((await fetch(`${guarded.url}api/health`)).status).toBe(401);
      expect((await fetch(`${guarded.url}api/events`)).status).toBe(401);
      expect((await fetch(`${guarded.url}api/roots`, { headers: { authorization: 'Bearer wrong-token-000' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}app.js`)).status).toBe(200); // code, no data: a browser loads it without the token
      const ok = await fetch(`${guarded.url}api/health`, { headers: { authorization: 'Bearer s3cret-token-123' } });
      expect(ok.status).toBe(200);
      // The scheme's name in any case (RFC 9110).
      expect((await fetch(`${guarded.url}api/health`, { headers: { authorization: 'bearer s3cret-token-123' } })).status).toBe(200);
      const body = await ok.text();
      expect(body).not.toContain('s3cret');
      expect(typeof (JSON.parse(body) as { head: unknown }).head).toBe('number'); // positions are numbers in every API result
      // Never in the URL on the API (shell history, proxy logs): the header only.
      for (const path of ['api/events', 'api/roots', 'api/health']) expect((await fetch(`${guarded.url}${path}?token=s3cret-token-123`)).status, path).toBe(401);
      const sse = await fetch(`${guarded.url}api/events`, { headers: { authorization: 'Bearer s3cret-token-123' } });
      expect(sse.headers.get('content-type')).toContain('text/event-stream');
      const reader = sse.body!.getReader();
      let text = '';
      while (!text.includes('event: hello')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toMatch(/event: hello\ndata: \{"position":\d+\}/);
      await reader.cancel();
    } finally {
      await guarded.close();
    }
  });
});

describe('dashboard: an agent\'s output is hostile text', () => {
  const usage = { inputTokens: 40, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
  // Markdown with HTML in every construct the page renders: headings, list items, code, paragraphs.
  const output = [
    '## survey <img src=x onerror="window.__pwned=1">',
    '- first <script>window.__pwned=2</script>',
    '- second `<b>not bold</b>`',
    '',
    'line one <iframe src="javascript:window.__pwned=3"></iframe>',
    'line two',
    '```',
    '</code></pre><svg onload="window.__pwned=4"></svg>',
    '```',
  ].join('\n');
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    const model = createScriptedProvider([{ model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'fin', name: 'finish', input: { output } }] }]);
    system = await testSystem('pglite', { model });
    dash = await startDashboard({ system, port: 0 });
    browser = (await launchChromium()).browser;
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await system?.close();
  });

  it('renders its markdown as text nodes: headings, lists, code and line breaks, and no element it names', async () => {
    const agent = await system.spawn({ role: 'surveyor', task: 'Survey <img src=x onerror="window.__pwned=5">', budget: 20_000 });
    expect((await agent.run()).status).toBe('completed');
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.openUrl);
    await page.waitForSelector('#agent-summary .md', { timeout: 15_000 });

    const md = await page.$eval('#agent-summary .md', (e) => {
      const el = e as unknown as { innerText: string; querySelectorAll(s: string): ArrayLike<{ tagName: string; textContent: string | null }> };
      return { text: el.innerText, tags: Array.from(el.querySelectorAll('*')).map((n) => `${n.tagName.toLowerCase()}:${n.textContent ?? ''}`) };
    });
    // The structure the subset builds, each with the hostile text as its text.
    expect(md.tags).toContain('h5:survey <img src=x onerror="window.__pwned=1">');
    expect(md.tags).toContain('li:first <script>window.__pwned=2</script>');
    expect(md.tags).toContain('code:<b>not bold</b>');
    expect(md.tags).toContain('code:</code></pre><svg onload="window.__pwned=4"></svg>');
    expect(md.tags.filter((t) => /^(h5|ul|li|p|pre|code):/.test(t))).toHaveLength(md.tags.length);
    // A paragraph keeps its line breaks.
    expect(md.text).toMatch(/line one <iframe src="javascript:window.__pwned=3"><\/iframe>\nline two/);

    // Nothing the text names became an element anywhere on the page, and nothing ran.
    // (The page's own markup has two <b> labels in the time-travel box: none elsewhere.)
    const injected = await page.evaluate('document.querySelectorAll("img, script:not([src]), iframe, svg, #agent-summary b, #timeline b, #tree b, header b").length');
    expect(injected).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    const option = await page.$eval('#roots option', (e) => e.textContent ?? '');
    expect(option).toContain('surveyor');
    expect(option).toContain('<img src=x');
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('dashboard: what a live agent is doing', () => {
  const usage = { inputTokens: 40, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    // The model answers only once the test lets it: until then the agent is calling the model.
    const model = createScriptedProvider(async () => {
      await gate;
      return { model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'fin', name: 'finish', input: { output: 'done' } }] };
    });
    system = await testSystem('pglite', { model });
    dash = await startDashboard({ system, port: 0 });
    browser = (await launchChromium()).browser;
  });

  afterAll(async () => {
    release();
    await browser?.close();
    await dash?.close();
    await system?.close();
  });

  it('shows "calling model" in the tree and the detail while the call is under way, and nothing once it ended', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.openUrl);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    const agent = await system.spawn({ role: 'researcher', task: 'Look it up', budget: 10_000 });
    const run = agent.run();
    const activity = `.node[data-agent-id="${agent.id}"] .activity`;
    await page.waitForFunction((sel) => (globalThis as unknown as Win).document.querySelector(sel)?.textContent === 'calling model', activity, { timeout: 15_000 });
    await page.click(`.node[data-agent-id="${agent.id}"]`);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#agent-summary .activity')?.textContent === 'now: calling model', null, { timeout: 15_000 });

    release();
    expect((await run).status).toBe('completed');
    await page.waitForSelector(`.node[data-agent-id="${agent.id}"][data-status="completed"]`, { timeout: 15_000 });
    expect(await page.$(activity)).toBeNull();
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#agent-summary .activity') === null, null, { timeout: 15_000 });
    expect(errors).toEqual([]);
  }, 60_000);
});
