import type { Browser } from 'playwright-core';
import type { AgentSystem } from '../../src/system.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { launchChromium } from './browser.js';

export interface DashboardInBrowser {
  readonly dash: Dashboard;
  readonly browser: Browser;
  /** Closes the browser, the dashboard and the system, in that order. */
  close(): Promise<void>;
}

/**
 * The browser tier's setting: `system`'s dashboard on a free loopback port and a headless Chromium
 * to open it. Should Chromium not start, the dashboard is closed again (the system is the
 * caller's until this returns).
 *
 * @example
 * const ui = await dashboardInBrowser(system);
 * const page = await ui.browser.newPage();
 * await page.goto(ui.dash.openUrl);
 * await ui.close();
 */
export async function dashboardInBrowser(system: AgentSystem): Promise<DashboardInBrowser> {
  const dash = await startDashboard({ system, port: 0 });
  try {
    const { browser } = await launchChromium();
    return {
      dash,
      browser,
      async close() {
        await browser.close();
        await dash.close();
        await system.close();
      },
    };
  } catch (err) {
    await dash.close();
    throw err;
  }
}
