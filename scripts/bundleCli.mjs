// After `tsc`: the CLI bundled by esbuild into dist/bundle/ (bin/cadre.js runs it). Loading a
// few files per command instead of ~170 compiled modules and ~100 of zod's saves module
// resolution, reading and linking at every start (measured: bench/cliStartup.ts); each lazy
// `import()` stays a chunk of its own, loaded only by the commands that reach it. The heavy or
// native-backed packages stay external, loaded from node_modules when used. packages.json lists
// the packages inside each chunk, so a test can still tell what a command loaded
// (tests/e2e/cliImportsPerCommand.e2e.test.ts).
import { build } from 'esbuild';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cwd } from 'node:process';

const out = 'dist/bundle';
rmSync(out, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: ['dist/cli/main.js'],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@electric-sql/pglite', '@opentelemetry/*', '@kurrent/kurrentdb-client', '@anthropic-ai/sdk', '@modelcontextprotocol/sdk', 'pg-native', 'pino', 're2js'],
  // commander is CommonJS: its require() of node builtins needs a require in an ES module.
  banner: { js: "import { createRequire as __cadreRequire } from 'node:module'; const require = __cadreRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
  plugins: [englishOnlyZod()],
});
/**
 * zod exports every locale on its namespace (`z.locales`), so the `z` object cadre imports keeps
 * all of them: 366 KB of the 755 KB zod chunk, parsed by every command that loads a schema.
 * cadre's messages are English (zod's default, imported by zod itself), so the bundle's
 * `locales` namespace holds English alone.
 */
function englishOnlyZod() {
  return {
    name: 'english-only-zod',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => (/[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-english' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'zod-english' }, () => ({ contents: "export { default as en } from 'zod/v4/locales/en.js';", resolveDir: cwd() }));
    },
  };
}

const packageOf = (input) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
const chunks = Object.fromEntries(Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.js')).map(([file, o]) => [
  basename(file),
  [...new Set(Object.keys(o.inputs).map(packageOf).filter(Boolean))].sort(),
]));
writeFileSync(`${out}/packages.json`, `${JSON.stringify(chunks, null, 1)}\n`);
// The dashboard finds its page beside the module that serves it (src/dashboard/server.ts).
cpSync('src/dashboard/public', `${out}/public`, { recursive: true });
