import type { Command } from 'commander';
import { print, withSystem, type CliContext } from '../context.js';

export function registerMigrate(program: Command, ctx: CliContext): void {
  program
    .command('migrate')
    .description('create or upgrade the database tables (also done on every start)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  DATABASE_URL=postgres://localhost/cadre cadre migrate')
    .action(async (opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
        print(ctx, opts.json, { store: system.store.kind, schema: system.schema }, () => `migrated (${system.store.kind}, schema ${system.schema})`);
      });
    });
}
