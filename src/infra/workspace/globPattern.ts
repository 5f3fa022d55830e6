/**
 * Compiles a file glob to a RegExp over `/`-separated relative paths: `*` and `?` stay
 * within one path segment, `**` crosses segments (`**\/` also matches no folder at all),
 * `{a,b}` is alternation, `[abc]` / `[!abc]` are character classes. A glob without a `/`
 * matches the file name in any folder, as in .gitignore.
 *
 * @example
 * globToRegExp('*.ts').test('src/a.ts');        // true
 * globToRegExp('src/**\/*.ts').test('src/a.ts'); // true
 */
export function globToRegExp(glob: string): RegExp {
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
  return new RegExp(anyFolder ? `^(?:.*/)?${out}$` : `^${out}$`);
}
