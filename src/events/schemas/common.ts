import { z } from 'zod';

/** Agent ids are uuids or short slugs: letters, digits, `-` and `_`, up to 100 characters. */
export const AgentId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be 1-100 letters, digits, - or _');
/** Token amounts are non-negative safe integers. */
export const Tokens = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const TerminalStatus = z.enum(['completed', 'failed', 'terminated']);
export type TerminalStatus = z.infer<typeof TerminalStatus>;
export const JsonValue: z.ZodType<unknown> = z.unknown();
