import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './cliError.js';
import type { CliContext } from './context.js';
import { registerBudget } from './commands/budget.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerFire } from './commands/fire.js';
import { registerApprovals } from './commands/approvals.js';
import { registerFork } from './commands/fork.js';
import { registerHistory } from './commands/history.js';
import { registerInbox } from './commands/inbox.js';
import { registerMigrate } from './commands/migrate.js';
import { registerProjections } from './commands/projections.js';
import { registerReplay } from './commands/replay.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerSend } from './commands/send.js';
import { registerServe } from './commands/serve.js';
import { registerSpawn } from './commands/spawn.js';
import { registerStart } from './commands/start.js';
import { registerStatus } from './commands/status.js';
import { registerTemplates } from './commands/templates.js';
import { registerTrace } from './commands/trace.js';
import { registerTree } from './commands/tree.js';
import { registerWorker } from './commands/worker.js';
import { registerWorkspaces } from './commands/workspaces.js';

const EXAMPLES = `
Examples:
  cadre demo                                         a multi-agent job, live, in well under a minute
  cadre run "Add a slugify() helper" --template tdd-workflow --budget 100000
  cadre spawn --role researcher --task "Summarise README.md" --budget 10000 --run
  cadre tree                                         the latest agent trees
  cadre status <agent>          cadre budget <agent> --subtree
  cadre history <agent>         cadre replay <agent> --to 3
  cadre trace <agent>                                a run as a waterfall over time
  cadre fork <agent> --at 6 --model M --run          try again from an agent's past
  cadre diff <a> <b>                                 compare two runs
  cadre serve                                        the dashboard on http://127.0.0.1:4600

Read commands take --json. Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not found.
Environment: DATABASE_URL (absent: embedded PGlite in .cadre/ or CADRE_DATA_DIR),
ANTHROPIC_API_KEY (absent: offline model), LOG_LEVEL; see .env.example and docs/cli.md.`;

/**
 * The `cadre` program: one entry point, one file per command (src/cli/commands). Usage errors
 * surface as `CliError`s with exit code 2 instead of exiting the process, so tests can drive it.
 *
 * @example
 * await buildProgram(defaultContext()).parseAsync(['node', 'cadre', 'tree', '--json']);
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command();
  program
    .name('cadre')
    .description('An event-sourced actor system for autonomous AI agents.')
    .version('0.1.0')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXAMPLES)
    .configureOutput({ writeOut: (s) => ctx.output.out(s.replace(/\n$/, '')), writeErr: () => undefined, outputError: () => undefined });
  for (const register of [registerDemo, registerRun, registerSpawn, registerStart, registerFire, registerApprovals, registerSend, registerInbox, registerTree, registerTrace, registerStatus, registerBudget,
    registerHistory, registerReplay, registerFork, registerDiff, registerReport, registerTemplates, registerWorkspaces, registerProjections, registerMigrate, registerWorker, registerServe]) {
    register(program, ctx);
  }
  const exitOverride = (cmd: Command): void => {
    cmd.exitOverride((err: CommanderError) => {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') throw err;
      // The full path (`cadre projections rebuild`), not the last word alone.
      const names: string[] = [];
      for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
      const where = names.join(' ');
      throw new CliError(err.message.replace(/^error: /, ''), { exitCode: EXIT.usage, hint: `see \`${where} --help\`` });
    });
    cmd.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** True for commander's "help/version shown" signals, which end the process with code 0. */
export const isHelpExit = (err: unknown): boolean => err instanceof CommanderError && err.exitCode === 0;
