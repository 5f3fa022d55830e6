import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import type { AgentSystem } from '../../src/system.js';
import type { Dashboard } from '../../src/dashboard/server.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { dashboardInBrowser } from '../support/dashboardInBrowser.js';
import { testSystem } from '../support/system.js';

/** The little of the DOM the page-side predicates touch (the test project has no DOM typings). */
type Win = { document: { querySelector(s: string): { textContent: string | null; getAttribute(name: string): string | null } | null } };

/**
 * "Fork from here" on the time-travel slider, in real Chromium: a person opens a finished agent,
 * moves the slider back to before its last model call, types another model and a budget and
 * forks. The fork is a new root whose AgentSpawned carries `forkedFrom` at the slider's revision;
 * it runs with the other model; the source's history is untouched. A refused fork says which
 * field was wrong.
 */
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (model: string, id: string, name: string, input: unknown): ModelReply => ({ model, content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });
const lookup = tool({ name: 'lookup', description: 'Looks a word up.', input: z.object({ word: z.string() }), run: ({ word }) => `${word}: a small bird` });

describe('dashboard: fork from here', () => {
  const requests: ModelRequest[] = [];
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // Model a looks the word up, then finishes "a"; model b (the fork's) finishes "b".
    const model = createScriptedProvider((r) => {
      requests.push(r);
      if (r.messages.every((m) => m.role !== 'assistant')) return call('a', 'toolu_look', 'lookup', { word: 'wren' });
      return r.model === 'b' ? call('b', 'toolu_fin_b', 'finish', { output: 'b' }) : call('a', 'toolu_fin_a', 'finish', { output: 'a' });
    });
    system = await testSystem('pglite', { model, tools: [lookup] });
    ({ dash, browser, close } = await dashboardInBrowser(system));
  });

  afterAll(async () => {
    await (close ? close() : system?.close());
  });

  it('forks the selected agent at the slider\'s revision with another model and budget, opens the fork, and leaves the source as it was', { timeout: 120_000 }, async () => {
    const source = await system.spawn({ role: 'reader', task: 'What is a wren?', budget: 50_000, tools: ['lookup'], model: 'a' });
    expect(await source.run()).toMatchObject({ status: 'completed', output: 'a' });
    const history = await system.history(source.id);
    const before = JSON.stringify(history);
    // Just before the last model call: the fork asks it again, of model b.
    const at = history.findLastIndex((e) => e.type === 'ModelRequested') - 1;
    expect(at).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.openUrl);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    // The newest root opens on its own.
    await page.waitForFunction((id) => ((globalThis as unknown as Win).document.querySelector('#agent-title')?.textContent ?? '').includes(id), source.id, { timeout: 15_000 });
    await page.$eval('#slider', (e, v) => { const s = e as unknown as { value: string; dispatchEvent(ev: unknown): void }; s.value = String(v); s.dispatchEvent(new Event('input', { bubbles: true })); }, at);
    await page.waitForFunction((v) => (globalThis as unknown as Win).document.querySelector('#past-revision')?.textContent === String(v), at);

    // A refused fork names the field and forks nothing.
    await page.fill('#fork-budget', '0');
    await page.click('#fork-button');
    await page.waitForFunction(() => ((globalThis as unknown as Win).document.querySelector('#fork-result')?.textContent ?? '').includes('fork refused'), null, { timeout: 10_000 });
    expect(await page.textContent('#fork-result')).toContain('fork.budget');
    expect((await system.internal.runtime.state(source.id)).status).toBe('completed');

    await page.fill('#fork-model', 'b');
    await page.fill('#fork-budget', '30000');
    await page.click('#fork-button');
    const link = await page.waitForSelector('#fork-result a.fork-link', { timeout: 15_000 });
    const forkId = (await link.getAttribute('data-agent-id'))!;
    expect(forkId).toMatch(/^[0-9a-f-]{36}$/);
    expect(forkId).not.toBe(source.id);
    expect(await page.textContent('#fork-result')).toContain(`at revision ${at}`);

    // The fork: a new root opening with forkedFrom at the slider's revision, model b, the budget typed.
    const forked = await system.history(forkId);
    expect(forked[0]?.type).toBe('AgentSpawned');
    expect(forked[0]?.data).toMatchObject({ agentId: forkId, parentId: null, model: 'b', budget: 30_000, forkedFrom: { sourceId: source.id, sourceRevision: at, sourcePosition: String(history[at]!.position) } });
    // It runs here (this server hosts what it starts), with model b, to its own end.
    expect(await system.get(forkId).result()).toMatchObject({ status: 'completed', output: 'b' });
    expect(requests.filter((r) => r.agent?.id === forkId).map((r) => r.model)).toEqual(['b']);

    // The page shows the fork: its tree, selected, its detail.
    await page.waitForSelector(`.node.selected[data-agent-id="${forkId}"]`, { timeout: 15_000 });
    await page.waitForFunction((id) => ((globalThis as unknown as Win).document.querySelector('#agent-title')?.textContent ?? '').includes(id), forkId, { timeout: 15_000 });
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#agent-summary .badge')?.textContent === 'completed', null, { timeout: 15_000 });

    // The source: its history byte for byte as it was.
    expect(JSON.stringify(await system.history(source.id))).toBe(before);
    expect(errors).toEqual([]);
    await page.close();
  });
});
