import type { Command } from 'commander';
import { startDashboard } from '../../dashboard/server.js';
import { CliError, EXIT } from '../cliError.js';
import { parseCount, type CliContext } from '../context.js';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('the dashboard: a live agent tree, timelines, time travel, budgets, dead letters')
    .option('--host <host>', 'interface to bind (anything but loopback needs --token)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '4600')
    .option('--token <token>', 'require this bearer token on every request (or CADRE_DASHBOARD_TOKEN)')
    .option('--no-recover', 'only look: do not resume live agents in this process')
    .addHelpText('after', '\nExamples:\n  cadre serve\n  cadre serve --host 0.0.0.0 --port 8080 --token "$(openssl rand -hex 16)"')
    .action(async (opts: { host: string; port: string; token?: string; recover: boolean }) => {
      const port = parseCount(opts.port, '--port');
      const token = opts.token ?? process.env.CADRE_DASHBOARD_TOKEN;
      if (port > 65535) throw new CliError(`invalid --port ${port}`, { exitCode: EXIT.usage, hint: '--port 4600' });
      const system = await ctx.openSystem({ recover: opts.recover });
      try {
        const dash = await startDashboard({ system, host: opts.host, port, ...(token ? { token } : {}) });
        ctx.output.out(`dashboard: ${dash.url}${token ? '?token=…' : ''}   (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await dash.close();
      } finally {
        await system.close();
      }
    });
}
