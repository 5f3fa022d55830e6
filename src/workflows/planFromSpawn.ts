import type { AgentSnapshot } from '../actors/replay.js';
import type { DomainEvent } from '../events/catalogue.js';
import { liveChildren } from '../actors/agentContext.js';
import { failureEvents } from '../actors/agentDecisions.js';
import { isCadreError } from '../errors.js';
import { validateGraph, type WorkflowGraph } from './graph.js';
import { workflowSubState } from './workflowSubState.js';

/**
 * What a running workflow without a recorded plan records: its plan from the graph its
 * AgentSpawned holds (the process died between spawning it and recording the plan; the template
 * id is read back from the role), or its failure when there is no valid graph. Nothing once it
 * has a plan, or while it cannot end yet.
 *
 * @example
 * await runtime.execute(id, planFromSpawn, { causationId: `workflow:${id}` });
 */
export function planFromSpawn(snap: AgentSnapshot): DomainEvent[] {
  const c = snap.context;
  if (c.plan) return [];
  // No graph at all: an auto-decomposed workflow whose process stopped before the model's plan
  // was recorded (killed during planning). Nothing can be run; the task can be asked again.
  if (c.graph === null || c.graph === undefined) return canFail(snap) ? failureEvents(c, 'error', 'workflow has no plan: its planning was interrupted before the model\'s plan was recorded; run the task again (cadre run --auto)') : [];
  let graph: WorkflowGraph;
  try {
    graph = validateGraph(c.graph, { field: 'graph' });
  } catch (err) {
    return canFail(snap) ? failureEvents(c, 'error', `workflow has no valid plan: ${isCadreError(err) || err instanceof Error ? err.message : String(err)}`) : [];
  }
  const templateId = c.role !== 'workflow' ? c.role : null;
  return [{ type: 'WorkflowPlanned', data: { source: templateId ? 'template' : 'graph', templateId, graph } }];
}

/**
 * A workflow without a plan can fail whatever it holds: its only reservation can be a planning
 * call cut off by a crash (decompose.ts), which its failure releases (failureEvents).
 */
function canFail(s: AgentSnapshot): boolean {
  return workflowSubState(s) === 'active' && liveChildren(s.context).length === 0;
}
