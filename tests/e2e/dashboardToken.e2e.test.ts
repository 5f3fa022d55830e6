import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { AgentSystem } from '../../src/system.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { testSystem } from '../support/system.js';
import { launchChromium } from '../support/browser.js';

/** The little of the DOM the page-side predicates touch (the test project has no DOM typings). */
type Win = { document: { querySelector(s: string): { textContent: string | null; hidden?: boolean } | null }; sessionStorage: { length: number }; localStorage: { length: number } };
const TOKEN = 'a-fixed-token-the-user-set';

/**
 * The page's token in a real browser, where attackers of the dashboard found it leaking: kept in
 * memory only, and sent only to a server that proves it knows it. Once `cadre serve` stopped, the
 * open page sent it every second to whatever bound the port next (another user's program), and a
 * reload on that program's page read it from sessionStorage.
 */
describe('dashboard token in a real browser', () => {
  let system: AgentSystem;
  let browser: Browser;
  beforeAll(async () => {
    system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 0 } });
  });
  afterAll(async () => {
    await system?.close();
  });
  // A browser each: the packaged Chromium runs as one process, which the first test's page,
  // reading a stream another server never ends, took down as it closed.
  beforeEach(async () => {
    browser = (await launchChromium()).browser;
  });
  afterEach(async () => {
    await browser?.close().catch(() => {});
  });

  const text = (page: Page, selector: string) => page.evaluate(`document.querySelector(${JSON.stringify(selector)}).textContent`) as Promise<string>;

  it('is never sent to a program that took the port after cadre serve stopped, and is not kept where that program can read it', async () => {
    const dash = await startDashboard({ system, port: 0, token: TOKEN });
    const page = await browser.newPage();
    let squatter: Server | null = null;
    try {
      await page.goto(dash.openUrl);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
      expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
      await dash.close();
      // Another program on the same port: answers everything, records what it is sent.
      const seen: string[] = [];
      squatter = createServer((req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'}`);
        if (req.url?.startsWith('/api/proof')) res.end(JSON.stringify({ proof: '00'.repeat(32) }));
        else if (req.url === '/api/events') res.writeHead(200, { 'content-type': 'text/event-stream' }).write('event: hello\ndata: {"position":0}\n\n');
        else res.end('<html><body>not cadre</body></html>');
      });
      await new Promise<void>((resolve) => squatter!.listen(dash.port, '127.0.0.1', resolve));
      await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelector('#conn')?.textContent === 'not the server', undefined, { timeout: 15_000 });
      await new Promise((r) => setTimeout(r, 2_500)); // two more retries
      expect(seen.some((line) => line.startsWith('GET /api/proof?nonce='))).toBe(true);
      expect(seen.filter((line) => !line.endsWith(' -'))).toEqual([]);
      expect(await text(page, '#notice')).toMatch(/cannot prove it knows this page's token/);
    } finally {
      await page.close();
      squatter?.closeAllConnections();
      await new Promise((resolve) => (squatter ? squatter.close(resolve) : resolve(undefined)));
    }
  });

  it('is forgotten on reload (said across the page), and taken when the printed address is opened in the same tab', async () => {
    const dash = await startDashboard({ system, port: 0, token: TOKEN });
    const page = await browser.newPage();
    try {
      await page.goto(dash.openUrl);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
      await page.reload();
      await page.waitForSelector('#notice:not([hidden])', { timeout: 15_000 });
      expect(await text(page, '#conn')).toBe('no access');
      expect(await text(page, '#notice')).toContain('a reload forgets it');
      // Only the fragment changes: no reload; the page takes the token all the same.
      await page.goto(dash.openUrl);
      await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
      expect(page.url()).toBe(dash.url);
      expect(await page.evaluate('document.querySelector("#notice").hidden')).toBe(true);
    } finally {
      await page.close();
      await dash.close();
    }
  });
});
