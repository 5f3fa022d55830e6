import type { Command } from 'commander';
import { print, withSystem, type CliContext } from '../context.js';
import { renderTable } from '../render/table.js';
import { noStoreYet } from '../noStoreYet.js';

export function registerProjections(program: Command, ctx: CliContext): void {
  const p = program.command('projections').description('read models: their position, lag and rebuilds');
  p.command('status')
    .description('each projection: state, position, lag in events and milliseconds')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre projections status --json')
    .action(async (opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false, readOnly: true }, async (system) => {
        const rows = await system.projections.status();
        print(ctx, opts.json, rows, () => renderTable(rows, [
          { header: 'NAME', value: (r) => r.name },
          { header: 'VERSION', value: (r) => r.version, align: 'right' },
          { header: 'STATE', value: (r) => r.state },
          { header: 'POSITION', value: (r) => r.position, align: 'right' },
          { header: 'HEAD', value: (r) => r.headPosition, align: 'right' },
          { header: 'LAG', value: (r) => `${r.lagEvents}${r.lagEventsCapped ? '+' : ''} ev / ${r.lagMs} ms`, align: 'right' },
          { header: 'ERROR', value: (r) => r.lastError },
        ]));
      }).catch(noStoreYet(ctx, opts.json, [], 'no projections'));
    });
  p.command('rebuild')
    .argument('<name>', 'projection name (see `cadre projections status`)')
    .description('replay a projection from position 0 into fresh tables and swap them in')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  cadre projections rebuild agents')
    .action(async (name: string, opts: { json?: boolean }) => {
      await withSystem(ctx, { recover: false }, async (system) => {
        const started = Date.now();
        await system.projections.rebuild(name);
        print(ctx, opts.json, { name, rebuilt: true, ms: Date.now() - started }, () => `rebuilt ${name} in ${Date.now() - started} ms`);
      });
    });
}
