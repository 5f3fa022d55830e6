/** `1 agent`, `2 agents`, `2 branches`: a count with its noun (give the plural when it is not noun + s). */
export const plural = (n: number, noun: string, nouns = `${noun}s`): string => `${n} ${n === 1 ? noun : nouns}`;
