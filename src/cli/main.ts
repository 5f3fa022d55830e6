import { join } from 'node:path';
import { loadDotEnv } from '../infra/loadDotEnv.js';
import { Interrupted, exitCodeOf, formatError } from './cliError.js';
import { defaultContext } from './context.js';
import { buildProgram, isHelpExit } from './program.js';

/** `cadre`: see `cadre --help` and docs/cli.md. */
const ctx = defaultContext();
// A reader that stops early (`cadre history x | head`) closes the pipe: that is the reader being
// done, not a failure to report with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
try {
  loadDotEnv(join(process.cwd(), '.env'));
  // Log lines a person reads: one line each, not pino's JSON with stacks (LOG_FORMAT=json for tools).
  process.env.LOG_FORMAT ??= 'human';
  // Bare `cadre` shows the help (on stdout, exit 0) instead of commander's "(outputHelp)" error.
  const argv = process.argv.length > 2 ? process.argv : [...process.argv, '--help'];
  await buildProgram(ctx).parseAsync(argv);
} catch (err) {
  if (!isHelpExit(err)) {
    if (!(err instanceof Interrupted)) ctx.output.err(formatError(err));
    process.exitCode = exitCodeOf(err);
  }
}
