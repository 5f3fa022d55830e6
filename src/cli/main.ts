import { exitCodeOf, formatError } from './cliError.js';
import { defaultContext } from './context.js';
import { buildProgram, isHelpExit } from './program.js';

/** `cadre`: see `cadre --help` and docs/cli.md. */
const ctx = defaultContext();
try {
  await buildProgram(ctx).parseAsync(process.argv);
} catch (err) {
  if (!isHelpExit(err)) {
    ctx.output.err(formatError(err));
    process.exitCode = exitCodeOf(err);
  }
}
