import { z } from 'zod';
import { AgentId } from './common.js';

export const WorkspaceCreated = z.object({ path: z.string(), branch: z.string(), baseBranch: z.string(), baseCommit: z.string() });
export const WorkspaceCommitted = z.object({ commit: z.string(), files: z.array(z.string()) });
export const WorkspaceMerged = z.object({ childId: AgentId, branch: z.string(), commit: z.string().nullable(), files: z.array(z.string()) });
export const WorkspaceMergeConflicted = z.object({ childId: AgentId, branch: z.string(), files: z.array(z.string()) });
export const WorkspaceRemoved = z.object({ path: z.string(), branchDeleted: z.boolean() });
