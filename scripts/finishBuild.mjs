// After `tsc`: copy the dashboard's page next to the compiled server (tsc copies only .ts), make
// the fresh store new embedded stores start from (makeStoreTemplate.mjs), and stamp the build's
// time last, so bin/cadre.js can tell a build older than the source.
import { cpSync, writeFileSync } from 'node:fs';

cpSync('src/dashboard/public', 'dist/dashboard/public', { recursive: true });
await import('./makeStoreTemplate.mjs');
writeFileSync('dist/.built', `${new Date().toISOString()}\n`);
