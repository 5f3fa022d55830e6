/**
 * A count as a person writes one: digits, an underscore only between two of them as in JS
 * (10_000, not 10_000_ or 1__0). Number() would also take '-0', '0x10', '1e4' and ' 7 '. The
 * CLI's options (parseCount) and the environment's counts (config.ts) read them alike. Its own
 * module: the CLI reads options before it loads zod (`--version` loads no schema library).
 */
export const WRITTEN_COUNT = /^[0-9]+(?:_[0-9]+)*$/;
