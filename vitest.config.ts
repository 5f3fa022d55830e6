import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Tiers by file name (STYLE.md): *.unit.test.ts (pure, fast), *.int.test.ts (Postgres, git,
// child processes), *.e2e.test.ts (CLI, dashboard in a browser). `npm test` runs all three.
const E2E_BROWSER = 'tests/e2e/dashboard*.e2e.test.ts';

export default defineConfig({
  // Examples import from 'cadre' as a user's program does; here that is the source (tsconfig paths too).
  resolve: { alias: { cadre: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    globalSetup: ['tests/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.d.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 80 },
      reportOnFailure: true,
    },
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/**/*.unit.test.ts'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'int', include: ['tests/**/*.int.test.ts'], pool: 'forks', maxWorkers: 2, sequence: { groupOrder: 1 } } },
      // The CLI's e2e files, two at a time: each mostly waits on one `cadre` process (one core),
      // so one file at a time left the other core idle (the tier took 485 s alone; 385 s with two).
      { extends: true, test: { name: 'e2e', include: ['tests/**/*.e2e.test.ts'], exclude: [...configDefaults.exclude, E2E_BROWSER], pool: 'forks', maxWorkers: 2, sequence: { groupOrder: 2 } } },
      // The dashboard in a browser, one file at a time after them, alone on the machine: a view's
      // time limit (dashboardViews: a 1,000-agent tree in under 10 s) failed beside another file.
      // `--project 'e2e*'` runs both e2e projects.
      { extends: true, test: { name: 'e2e-browser', include: [E2E_BROWSER], pool: 'forks', maxWorkers: 1, sequence: { groupOrder: 3 } } },
    ],
  },
});
