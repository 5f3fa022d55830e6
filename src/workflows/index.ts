/**
 * Workflows: DAGs of agents (DESIGN.md, Workflows). Pure parts: graph.ts, scheduler.ts,
 * templates.ts, progress.ts, roles.ts. Edges: workflowRuntime.ts (the runtime glue),
 * decompose.ts (the model), templateLoader.ts (the disk), watch.ts (polling).
 */
export { WorkflowGraphSchema, WorkflowNodeSchema, validateGraph, graphProblems, findCycle, topologicalOrder } from './graph.js';
export type { WorkflowGraph, WorkflowGraphInput, WorkflowNode, WorkflowNodeInput, ValidateGraphOptions } from './graph.js';
export { BUILTIN_ROLES, knownRoles } from './roles.js';
export { nextStep, nodeTask, combinedOutput, MIN_NODE_BUDGET, type NodeStart, type WorkflowStep, type SchedulerInput } from './scheduler.js';
export { WorkflowTemplateSchema, TemplateRegistry, parseTemplate, templateGraph, type WorkflowTemplate } from './templates.js';
export { loadTemplates, listTemplates, getTemplate, builtinTemplatesDir, type LoadTemplatesOptions } from './templateLoader.js';
export { attachWorkflows, workflowsOf, spawnWorkflow, runWorkflow, runtimeOf, Workflows } from './workflowRuntime.js';
export type { WorkflowSource, SpawnWorkflowOptions, WorkflowsOptions, RuntimeLike } from './workflowRuntime.js';
export { decompose, type DecomposeOptions } from './decompose.js';
export { progressOf, type WorkflowProgress, type WorkflowNodeProgress, type NodeProgressStatus } from './progress.js';
export { readWorkflowProgress, followWorkflow, watchWorkflow, type WatchOptions, type WorkflowWatch } from './watch.js';
export { WorkflowHandle } from './workflowAgent.js';
export { createWorkflowsApi, type WorkflowsApi, type SpawnWorkflowRequest } from './workflowsApi.js';
