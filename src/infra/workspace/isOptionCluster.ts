/**
 * Whether argument `i` of `program` is a cluster of short options (`-lL`): one dash and letters,
 * or tar's first argument without a dash, which tar reads as one (`tar chf out.tar dir`).
 *
 * @example
 * isOptionCluster('ls', '-lL', 0);     // true
 * isOptionCluster('tar', 'cTf', 0);    // true
 * isOptionCluster('tar', 'cTf', 1);    // false: a file name
 */
export function isOptionCluster(program: string, arg: string, i: number): boolean {
  return /^-[^-]/.test(arg) || (program === 'tar' && i === 0 && /^[A-Za-z]+$/.test(arg));
}
