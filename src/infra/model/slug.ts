/**
 * Lowercase ASCII letters and digits joined by `-`, at most `maxLength` characters; `fallback`
 * when nothing is left. Used for plan node ids and the offline model's file paths, which must
 * be deterministic and safe on every file system.
 *
 * @example
 * slug('Write the REST API!'); // 'write-the-rest-api'
 */
export function slug(text: string, maxLength = 40, fallback = 'item'): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, maxLength)
    .replace(/-+$/, '');
  return s || fallback;
}
