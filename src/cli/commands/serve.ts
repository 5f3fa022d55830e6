import type { Command } from 'commander';
import { parseCount, type CliContext } from '../context.js';
import { stoppedLine } from './worker.js';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('the dashboard: a live agent tree, timelines, time travel, budgets, dead letters')
    .option('--host <host>', 'interface to bind (anything but loopback needs a token set: CADRE_DASHBOARD_TOKEN)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '4600')
    .option('--token <token>', 'require this token (default: one made for this run, in the address printed; prefer CADRE_DASHBOARD_TOKEN to --token: a command line is visible to every user in `ps`)')
    .option('--no-recover', 'only look: do not resume live agents in this process')
    .addHelpText('after', '\nExamples:\n  cadre serve\n  CADRE_DASHBOARD_TOKEN="$(openssl rand -hex 16)" cadre serve --host 0.0.0.0 --port 8080\n\nOpen the page as http://host:port/#token=<token> (the address printed, with a token made for the\nrun when none is set): the page keeps the token in memory (a reload asks for the address again)\nand drops it from the address bar. Every API request needs the token: loopback is open to every\naccount of the machine.')
    .action(async (opts: { host: string; port: string; token?: string; recover: boolean }) => {
      const port = parseCount(opts.port, '--port', { max: 65535 });
      if (opts.token !== undefined) ctx.output.err('cadre: warning: --token is visible to every user of this machine (ps, /proc); set CADRE_DASHBOARD_TOKEN instead');
      const { readEnv } = await import('../../infra/config.js');
      const token = opts.token ?? readEnv().CADRE_DASHBOARD_TOKEN;
      const { checkDashboardToken, startDashboard } = await import('../../dashboard/server.js');
      // Before the store opens, named as the user gave it.
      if (token !== undefined) checkDashboardToken(token, opts.token !== undefined ? '--token' : 'CADRE_DASHBOARD_TOKEN');
      const system = await ctx.openSystem({ recover: opts.recover });
      let hosted: number | null = null;
      try {
        const dash = await startDashboard({ system, host: opts.host, port, ...(token ? { token } : {}) });
        // A token made for this run is shown: it is the only way in. One the user set is theirs.
        ctx.output.out(token
          ? `dashboard: ${dash.url}   (Ctrl-C to stop)\n  open it as ${dash.url}#token= followed by the token you set (CADRE_DASHBOARD_TOKEN or --token)`
          : `dashboard: ${dash.openUrl}   (Ctrl-C to stop)\n  open that address: the token is made for this run, so other users of this machine cannot get in; scripts send it as Authorization: Bearer (set CADRE_DASHBOARD_TOKEN to choose it)`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        hosted = opts.recover ? system.internal.runtime.hosted : 0;
        await dash.close();
      } finally {
        await system.close();
      }
      // Said once close() has let calls in flight finish and freed the leases.
      if (hosted !== null) ctx.output.err(stoppedLine('dashboard', hosted));
    });
}
