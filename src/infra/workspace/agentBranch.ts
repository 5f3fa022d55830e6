import { z } from 'zod';
import { parseInput } from '../../validation.js';

/** Every agent branch lives under this prefix; cadre never touches branches outside it. */
export const AGENT_BRANCH_PREFIX = 'agents/';

// An agent id becomes a branch name component and a directory name, so it must be safe as
// both: no slashes, no `..`, no leading dot or dash, no `.lock` suffix (git reserves it).
export const AgentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'must be 1-200 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((s) => !s.includes('..') && !s.endsWith('.lock') && !s.endsWith('.'), 'must not contain ".." or end with "." or ".lock"');

// A base is a branch name (or any commit-ish git resolves). It is passed to git as an
// argument, so refuse what git could read as an option or a range.
export const BaseRefSchema = z
  .string()
  .min(1)
  .max(250)
  .refine((s) => !s.startsWith('-') && !s.includes('..') && !/[\s\0~^:?*[\\]/.test(s), 'is not a valid branch name');

/**
 * Validates an agent id and returns it.
 *
 * @example
 * parseAgentId('a1b2'); // 'a1b2'
 * parseAgentId('../x'); // throws InvalidInput naming agentId
 */
export const parseAgentId = (value: unknown, field = 'agentId'): string => parseInput(AgentIdSchema, value, field);

/** @example parseBaseRef('main') */
export const parseBaseRef = (value: unknown, field = 'baseBranch'): string => parseInput(BaseRefSchema, value, field);

/**
 * The branch an agent works on.
 *
 * @example
 * agentBranch('a1'); // 'agents/a1'
 */
export const agentBranch = (agentId: string): string => `${AGENT_BRANCH_PREFIX}${agentId}`;

/**
 * The agent id of an `agents/<id>` branch (short or `refs/heads/` form), or undefined.
 *
 * @example
 * agentIdOfBranch('refs/heads/agents/a1'); // 'a1'
 */
export function agentIdOfBranch(branch: string | undefined): string | undefined {
  if (branch === undefined) return undefined;
  const short = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (!short.startsWith(AGENT_BRANCH_PREFIX)) return undefined;
  const id = short.slice(AGENT_BRANCH_PREFIX.length);
  return AgentIdSchema.safeParse(id).success ? id : undefined;
}
