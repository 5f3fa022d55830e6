import { InvalidInput } from '../../errors.js';

/** Tests a `/`-separated relative path against a glob. */
export interface GlobMatcher {
  test(path: string): boolean;
}

/**
 * Compiles a file glob to a matcher over `/`-separated relative paths, run by RE2 (linear in the
 * path): the glob comes from a model, and as a V8 RegExp `*a*a*…*ab` (40 stars) against a name of
 * 200 `a`s backtracked for minutes on the main thread — every agent, lease and the dashboard
 * stopped, and a recovering process re-ran the call and froze again (found by attacking).
 * RE2 is loaded on the first glob, not with every process.
 *
 * Syntax: `*` and `?` stay
 * within one path segment, `**` crosses segments (`**\/` also matches no folder at all),
 * `{a,b}` is alternation, `[abc]` / `[!abc]` are character classes. A glob without a `/`
 * matches the file name in any folder, as in .gitignore.
 *
 * @example
 * (await globMatcher('*.ts')).test('src/a.ts');        // true
 * (await globMatcher('src/**\/*.ts')).test('src/a.ts'); // true
 */
export async function globMatcher(glob: string): Promise<GlobMatcher> {
  const anyFolder = !glob.includes('/');
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body}]`;
      i = end;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else {
      out += c.replace(/[.+^${}()|\\/]/g, '\\$&');
    }
  }
  out += ')'.repeat(braces);
  const { RE2JS } = await import('re2js');
  try {
    const re = RE2JS.compile(anyFolder ? `^(?:.*/)?${out}$` : `^${out}$`);
    return { test: (path) => re.matcher(path).find() };
  } catch (e) {
    throw new InvalidInput('glob', `${JSON.stringify(glob.slice(0, 200))} is not a valid glob: ${(e as Error).message.slice(0, 200)}`);
  }
}
