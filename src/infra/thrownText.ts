/**
 * The words of whatever was thrown: an Error's message (with its errno code, when it has one);
 * a plain object's `message`, else its JSON (PGlite throws plain objects: printed as they were,
 * "[object Object]" named nothing); anything else as text.
 *
 * @example
 * thrownText(Object.assign(new Error('file already exists'), { code: 'EEXIST' })); // 'EEXIST: file already exists'
 * thrownText({ errno: 20 }); // '{"errno":20}'
 */
export function thrownText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
  }
  if (typeof err === 'object' && err !== null) {
    const message = (err as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') return message;
    try {
      return JSON.stringify(err) ?? String(err);
    } catch {
      return String(err);
    }
  }
  return String(err);
}
