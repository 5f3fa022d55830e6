/**
 * Characters a terminal draws as nothing, or breaks a line on: every format character (Unicode
 * Cf: bidirectional controls, zero-width spaces, the soft hyphen, tag characters) and every
 * default-ignorable one (variation selectors, Hangul fillers, the combining grapheme joiner),
 * the line and paragraph separators and the braille blank. They hid text, spaced it out or
 * reordered it in `cadre status` and in roles (four attackers' tries: a run of variation
 * selectors carried a whole hidden sentence after "All tests pass.").
 */
const INVISIBLE_CHAR = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029\u2800]/u;

const INVISIBLE_RUN = new RegExp(`${INVISIBLE_CHAR.source}+`, 'gu');

/** A joiner or presentation selector, once or twice: what emoji (👩‍💻, ⚠️) and scripts need. */
const GLUE = /^(?:\u200c|\u200d|\ufe0e|\ufe0f){1,2}$/u;

/**
 * `text` with every invisible character replaced by `shown(codePoint)`, except the glue of emoji
 * and scripts after a visible character: one or two joiners or selectors carry too little to
 * hide a message in.
 *
 * @example
 * replaceInvisible('ok\u200b!', (c) => `<U+${c.toString(16)}>`); // 'ok<U+200b>!'
 */
export function replaceInvisible(text: string, shown: (codePoint: number) => string): string {
  return text.replace(INVISIBLE_RUN, (run: string, offset: number) =>
    offset > 0 && GLUE.test(run) ? run : [...run].map((c) => shown(c.codePointAt(0)!)).join(''));
}

/** Whether `text` holds an invisible character `replaceInvisible` would show (a role may not). */
export const hasInvisible = (text: string): boolean => replaceInvisible(text, () => '') !== text;
