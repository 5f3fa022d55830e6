import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * Launches the headless Chromium for the browser tier. Which one, first match wins:
 *   1. CHROMIUM_PATH, if set (must be an executable file, or this throws);
 *   2. a system `chromium` or `chromium-browser` on PATH;
 *   3. the Chromium packaged in the @sparticuz/chromium devDependency (unpacked to /tmp on first
 *      use, about 2 s), so the tier runs on a fresh machine with nothing but `npm ci`.
 * CADRE_TEST_PACKAGED_CHROMIUM=1 skips 1 and 2 (to check the packaged path where a system one is
 * installed).
 */
export async function launchChromium(): Promise<{ browser: Browser; source: string }> {
  const found = await findChromium();
  const browser = await chromium.launch({ executablePath: found.path, args: found.args, headless: true });
  return { browser, source: found.source };
}

const SYSTEM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

export async function findChromium(): Promise<{ path: string; args: string[]; source: string }> {
  if (process.env.CADRE_TEST_PACKAGED_CHROMIUM !== '1') {
    const override = process.env.CHROMIUM_PATH;
    if (override) {
      if (!isExecutable(override)) throw new Error(`CHROMIUM_PATH=${override} is not an executable file: unset it to use the system or the packaged Chromium`);
      return { path: override, args: SYSTEM_ARGS, source: `CHROMIUM_PATH (${override})` };
    }
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      for (const name of ['chromium', 'chromium-browser']) {
        const path = join(dir, name);
        if (isExecutable(path)) return { path, args: SYSTEM_ARGS, source: `system ${path}` };
      }
    }
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  const path = await packaged.executablePath();
  return { path, args: packaged.args, source: `@sparticuz/chromium (${path})` };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
