/** `1 agent`, `2 agents`: a count with its noun (regular English plurals only). */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
