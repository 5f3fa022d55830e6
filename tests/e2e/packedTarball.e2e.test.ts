import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cliProcess.js';
import { servedDashboard } from '../support/dashboardAuth.js';

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'cadre-packed-'));
const app = join(work, 'app');
const bin = join(app, 'node_modules', 'cadre', 'bin', 'cadre.js');

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The newest modification time of any file under `dir`. */
function newestUnder(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/**
 * What a user gets from `npm install cadre`: the packed tarball (built by `prepare`) installed
 * into an empty folder, with none of the repository around it — no src/, no dev dependencies
 * (tsx among them), so the CLI must run from dist/ and the dashboard must find its page there.
 */
describe('the packed tarball, installed into an empty folder', () => {
  it('installs, runs cadre demo, and cadre serve answers / and its assets', async () => {
    // dist/ is `prepare`'s build (`npm run build`, which the e2e tier needs before it runs and
    // `npm ci` runs): packed as it is, not built a second time here. A rebuild cost ~30 s, and it
    // rewrote dist/ under the other e2e files' `cadre` processes running beside this one. The pack
    // is refused if dist/ is older than the source, the rule bin/cadre.js uses to tell a stale build.
    const built = statSync(join(process.cwd(), 'dist', '.built')).mtimeMs;
    expect(newestUnder(join(process.cwd(), 'src')), 'src/ changed after the last `npm run build`: run it before the e2e tier').toBeLessThanOrEqual(built);
    const { stdout } = await exec('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: process.cwd(), maxBuffer: 16 << 20, timeout: 300_000 });
    const tarball = join(work, stdout.trim().split('\n').pop()!);
    writeFileSync(join(work, 'package.json'), '{}');
    await exec('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // The registry is reachable only through npm's cache on some machines: prefer it.
    await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball], { cwd: app, maxBuffer: 16 << 20, timeout: 600_000 });
    expect(readdirSync(join(app, 'node_modules', 'cadre'))).not.toContain('src');
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('tsx');

    const env = { CADRE_DATA_DIR: join(work, 'data'), HOME: work };
    const demo = startCli(['demo'], env, { bin, cwd: app });
    expect(await demo.exited, demo.output()).toBe(0);
    expect(demo.output()).toMatch(/completed: \d+ agents/);

    const serve = startCli(['serve', '--port', '0', '--no-recover'], env, { bin, cwd: app });
    try {
      const { url, token } = servedDashboard(await serve.line(/dashboard: http/));
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      for (const asset of ['app.js', 'dom.js', 'tree.js', 'waterfall.js', 'style.css']) expect((await fetch(new URL(asset, url))).status, asset).toBe(200);
      expect((await fetch(new URL('api/roots', url))).status).toBe(401); // loopback is every account's
      const roots = await fetch(new URL('api/roots', url), { headers: { authorization: `Bearer ${token}` } });
      expect(roots.status).toBe(200);
      expect(await roots.json()).toHaveLength(1); // the demo's one run
    } finally {
      serve.kill();
      await serve.exited;
    }
  }, 900_000);
});
