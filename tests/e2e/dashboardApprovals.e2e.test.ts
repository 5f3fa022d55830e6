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
import { authorized } from '../support/dashboardAuth.js';

/** The little of the DOM the page-side predicates touch (the test project has no DOM typings). */
type Win = { document: { querySelector(s: string): { textContent: string | null } | null } };

/**
 * A person answers parked tool calls in the dashboard, in real Chromium: the waiting list shows
 * each call, the agent's detail shows what the call would do (as text) with approve and deny
 * buttons; approve runs the call, deny (with the reason typed into the prompt) hands it to the
 * model. The action routes follow the state-changing rule: no CSRF token, no answer.
 */
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (id: string, name: string, input: unknown): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });
const lastResult = (r: ModelRequest) => (r.messages.at(-1)?.content ?? []).flatMap((b) => (b.type === 'tool_result' ? [b] : []))[0];

describe('dashboard: approving and denying parked tool calls', () => {
  const ran: string[] = [];
  let system: AgentSystem;
  let dash: Dashboard;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const deploy = tool({ name: 'deploy', description: 'Deploys to production.', input: z.object({ service: z.string() }), needsApproval: true, run: ({ service }) => (ran.push(service), `deployed ${service}`) });
    const model = createScriptedProvider((r) => {
      const res = lastResult(r);
      return res ? call('toolu_fin', 'finish', { output: `${res.isError ? 'held' : 'shipped'}: ${res.content}` }) : call(`toolu_${r.agent?.role}`, 'deploy', { service: `<img src=x onerror=alert(1)>${r.agent?.role}` });
    });
    system = await testSystem('pglite', { model, tools: [deploy] });
    ({ dash, browser, close } = await dashboardInBrowser(system));
  });

  afterAll(async () => {
    await (close ? close() : system?.close());
  });

  it('lists the calls, approves one, denies the other with a reason, and refuses an answer without the CSRF token', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(dash.openUrl);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });

    const shipper = await system.spawn({ role: 'shipper', task: 'Ship it.', budget: 20_000 });
    const cautious = await system.spawn({ role: 'cautious', task: 'Ship it.', budget: 20_000 });
    const runs = [shipper.run(), cautious.run()];
    for (const r of runs) r.catch(() => {}); // awaited below; a failed test must not leave them unhandled
    const listed = (text: string) => (globalThis as unknown as Win).document.querySelector('#approvals')?.textContent?.includes(text) ?? false;
    await page.waitForFunction(listed, 'toolu_shipper', { timeout: 15_000 });
    await page.waitForFunction(listed, 'toolu_cautious', { timeout: 15_000 });

    // A forged answer (no CSRF token) is refused and changes nothing.
    const forged = await fetch(`${dash.url}api/agents/${shipper.id}/approvals/toolu_shipper/approve`, { method: 'POST', headers: authorized(dash) });
    expect(forged.status).toBe(403);
    expect((await shipper.state()).pendingApprovals).toHaveLength(1);

    // Either agent is a root of its own: the waiting list's link opens it (the tree shows the newest root).
    await page.click('#approvals a:has-text("shipper")');
    await page.waitForSelector('.approval[data-call-id="toolu_shipper"] button.approve', { timeout: 15_000 });
    // The input is shown as text: the would-be tag is not an element.
    expect(await page.textContent('.approval[data-call-id="toolu_shipper"] pre')).toContain('<img src=x onerror=alert(1)>shipper');
    expect(await page.$('.approval img')).toBeNull();
    expect(await page.textContent('#agent-summary .activity')).toBe('now: waiting for approval (1 call)');
    await page.screenshot({ path: 'docs/images/dashboard-approval.png' });
    await page.click('.approval[data-call-id="toolu_shipper"] button.approve');
    expect(await runs[0]).toMatchObject({ status: 'completed', output: 'shipped: deployed <img src=x onerror=alert(1)>shipper' });

    // Once the page has caught up with the first answer (its list no longer shows that call).
    await page.waitForFunction((text) => !((globalThis as unknown as Win).document.querySelector('#approvals')?.textContent?.includes(text) ?? true), 'toolu_shipper', { timeout: 15_000 });
    await page.click('#approvals a:has-text("cautious")');
    await page.waitForSelector('.approval[data-call-id="toolu_cautious"] button.deny', { timeout: 15_000 });
    page.once('dialog', (d) => void d.accept('freeze until Monday'));
    await page.click('.approval[data-call-id="toolu_cautious"] button.deny');
    expect(await runs[1]).toMatchObject({ status: 'completed', output: 'held: denied by dashboard: freeze until Monday' });
    expect(ran).toEqual(['<img src=x onerror=alert(1)>shipper']);
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#approvals')?.textContent === 'none', null, { timeout: 15_000 });
    expect(errors).toEqual([]);
  }, 90_000);
});
