import { z } from 'zod';
import { AgentId } from './common.js';

/** The accepted plan (from a template, a caller's graph or the model's decomposition). */
export const WorkflowPlanned = z.object({ source: z.enum(['template', 'graph', 'decomposition']), templateId: z.string().nullable(), graph: z.unknown() });
/** A model's plan that failed validation: what it answered and why it was refused (auto-decomposition). */
export const WorkflowPlanRejected = z.object({ attempt: z.number().int().positive(), answer: z.string(), problems: z.string() });
export const NodeStarted = z.object({ nodeId: z.string(), childId: AgentId, attempt: z.number().int().positive(), budget: z.number().int().nonnegative() });
export const NodeCompleted = z.object({ nodeId: z.string(), childId: AgentId, output: z.string() });
export const NodeFailed = z.object({ nodeId: z.string(), childId: AgentId, attempt: z.number().int().positive(), reason: z.string(), willRetry: z.boolean() });
export const NodeSkipped = z.object({ nodeId: z.string(), reason: z.string() });
