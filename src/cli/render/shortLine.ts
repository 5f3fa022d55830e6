/** Text on one line (whitespace runs become one space), cut to `max` characters with an ellipsis. */
export function shortLine(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ');
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}
