/**
 * Text kept on its line: line breaks shown as ⏎, tabs as a space. For a table's cells and the
 * names in the tree's lines, where a role stored with a newline (before roles had to be one
 * line) drew a fake row under its own.
 *
 * @example
 * oneLine('a\nb'); // 'a ⏎ b'
 */
export const oneLine = (s: string): string => s.replace(/\r\n|\r|\n|\u2028|\u2029/g, ' ⏎ ').replace(/\t/g, ' ');
