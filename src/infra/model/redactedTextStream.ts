/**
 * Text arriving in pieces, passed on with secrets removed. A secret (or a secret-shaped string)
 * split across two pieces would pass a piece-by-piece redaction, so text is held back until
 * whitespace ends a word, and each run of whole words is redacted before it is passed on:
 * secrets hold no whitespace. `end()` passes on what is left.
 *
 * @example
 * const s = redactedTextStream((t) => t.replaceAll('sk-123', '[redacted]'), emit);
 * s.push('key sk-1'); s.push('23 ok'); s.end(); // emit('key '), emit('[redacted] '), emit('ok')
 */
export function redactedTextStream(redact: (text: string) => string, emit: (text: string) => void): { push(piece: string): void; end(): void } {
  let held = '';
  return {
    push(piece) {
      held += piece;
      const cut = Math.max(held.lastIndexOf(' '), held.lastIndexOf('\n'), held.lastIndexOf('\t'));
      if (cut < 0) return;
      const words = held.slice(0, cut + 1);
      held = held.slice(cut + 1);
      emit(redact(words));
    },
    end() {
      if (held !== '') emit(redact(held));
      held = '';
    },
  };
}
