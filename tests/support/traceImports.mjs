// `node --import ./tests/support/traceImports.mjs …`: prints every module URL the process
// loads to stderr as `loaded <url>`, for tests that check what a command does not load.
import { register } from 'node:module';

register(`data:text/javascript,${encodeURIComponent(`
export async function load(url, context, next) {
  if (!url.startsWith('node:')) process.stderr.write('loaded ' + url + '\\n');
  return next(url, context);
}`)}`);
