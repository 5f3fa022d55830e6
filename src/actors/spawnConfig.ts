import { MAX_TIMEOUT_MS } from './maxTimeout.js';
import { z } from 'zod';
import { AgentId, Tokens } from '../events/schemas/common.js';
import { isStorableText, NOT_STORABLE, oneLineName, storableText } from '../validation.js';
import { isUserTool, ToolName, type UserTool } from './userTool.js';

/**
 * A base branch as `git check-ref-format` would accept it, refused here rather than by git later:
 * no whitespace or control characters, none of `~^:?*[\\`, no `..`, `@{` or `//`, no leading `-`
 * or `/`, and no component that starts with `.` or ends with `.lock`.
 */
const BranchName = z
  .string()
  .min(1)
  .max(250)
  .refine(
    (b) =>
      !/[\s\p{Cc}~^:?*[\\]/u.test(b) &&
      !b.includes('..') &&
      !b.includes('@{') &&
      !b.includes('//') &&
      !/^[-/]/.test(b) &&
      !/[/.]$/.test(b) &&
      !b.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')) &&
      b !== '@',
    'must be a valid branch name',
  );

const WorkspaceOption = z.union([z.boolean(), z.object({ base: BranchName.optional() }).strict()]);

/**
 * The seed's spelling of a worktree request: `isolationEnabled: false` asks for none (not even
 * the one a child inherits), `basePath` says where worktrees go — the system's, so one that
 * differs is refused rather than ignored (the runtime checks it against its configuration).
 */
const WorkspaceConfig = z
  .object({ base: BranchName.optional(), baseBranch: BranchName.optional(), basePath: z.string().min(1).max(4096).optional(), isolationEnabled: z.boolean().optional() })
  .strict();

/** A spawn's options past its config: `start` opens the agent with its run request. */
export const SpawnStartSchema = z.strictObject({ start: z.boolean().optional() });

/**
 * What a caller may ask of a new agent. `budget` is in tokens. `workspace: true` (or `{ base }`)
 * gives it a git worktree; the seed's `workspaceConfig` is accepted as an alias.
 */
export const SpawnConfigSchema = z
  .object({
    id: AgentId.optional(),
    role: oneLineName(200),
    // Given, it must say something: `--task ""` made an agent with nothing to do (found by a new user).
    task: storableText(100_000).refine((t) => t.trim() !== '', 'must not be empty').default(''),
    budget: Tokens,
    workspace: WorkspaceOption.optional(),
    workspaceConfig: WorkspaceConfig.optional(),
    timeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).optional(),
    maxTurns: z.number().int().min(1).max(1000).optional(),
    model: z.string().min(1).max(200).refine(isStorableText, NOT_STORABLE).optional(),
    /**
     * The user tools it may call, made with tool() or named when registered already; left out,
     * a child has its parent's and a root the system's. Its children inherit them.
     */
    tools: z.array(z.union([ToolName, z.custom<UserTool>(isUserTool, 'must be made with tool()')])).max(100).optional(),
    /** Added to its system prompt (not inherited). */
    instructions: storableText(100_000).optional(),
    /** A zod schema its result must satisfy: it finishes with a structured answer, validated. */
    output: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'must be a zod schema').optional(),
  })
  .strict();

export type SpawnConfig = z.input<typeof SpawnConfigSchema>;
export type ParsedSpawnConfig = z.output<typeof SpawnConfigSchema>;

/** The worktree request a spawn config asks for, if any. */
export function workspaceRequestOf(c: ParsedSpawnConfig): { base?: string } | null {
  if (worktreeRefused(c)) return null;
  if (c.workspace === true) return {};
  if (c.workspace && typeof c.workspace === 'object') return c.workspace.base ? { base: c.workspace.base } : {};
  if (c.workspaceConfig) {
    const base = c.workspaceConfig.base ?? c.workspaceConfig.baseBranch;
    return base ? { base } : {};
  }
  return null;
}

/** True when the caller said no worktree (`workspace: false`, `workspaceConfig.isolationEnabled: false`), inherited or not. */
export const worktreeRefused = (c: ParsedSpawnConfig): boolean => c.workspace === false || c.workspaceConfig?.isolationEnabled === false;
