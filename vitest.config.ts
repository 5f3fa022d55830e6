import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tiers by file name (STYLE.md): *.unit.test.ts (pure, fast), *.int.test.ts (Postgres, git,
// child processes), *.e2e.test.ts (CLI, dashboard in a browser). `npm test` runs all three.
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
      { extends: true, test: { name: 'e2e', include: ['tests/**/*.e2e.test.ts'], pool: 'forks', maxWorkers: 1, sequence: { groupOrder: 2 } } },
    ],
  },
});
