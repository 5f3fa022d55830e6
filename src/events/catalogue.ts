import type { z } from 'zod';
import * as L from './schemas/lifecycle.js';
import * as B from './schemas/budget.js';
import * as M from './schemas/model.js';
import * as Q from './schemas/messaging.js';
import * as W from './schemas/workspace.js';
import * as F from './schemas/workflow.js';

/**
 * Every event type cadre records, with its zod schema and current schema version. The docs'
 * event catalogue is generated from this table, so it cannot drift.
 */
export const eventSchemas = {
  AgentSpawned: { schema: L.AgentSpawned, version: 1, doc: "Opens an agent stream: who it is, its parent, its budget; since issue 20 also its user tools, instructions and output schema when it has them, and since issue 19 its start (`started`, with its deadline) when it started in its opening's commit, where it was followed by an AgentStarted (optional fields: older records have none)." },
  AgentRunRequested: { schema: L.AgentRunRequested, version: 1, doc: 'Asked to run; starts when a concurrency slot is free.' },
  AgentStarted: { schema: L.AgentStarted, version: 1, doc: "Began running, with its deadline; an agent that started in its opening's commit has AgentSpawned's `started` instead." },
  ChildSpawned: { schema: L.ChildSpawned, version: 4, doc: "Parent's record of a new subordinate; v2 adds its spec (timeout, turns, model, worktree, graph); v3 delegates its budget too (delegatesBudget), where v1 and v2 were followed by a BudgetDelegated; v4 starts a workflow node too (nodeAttempt), where v1 to v3 were followed by a NodeStarted." },
  ChildFinished: { schema: L.ChildFinished, version: 3, doc: "Parent's record that a subordinate ended; v2 returns its budget too (reclaim), where v1 was followed by a BudgetReclaimed; v3 completes a workflow node too (completesNode), where v1 and v2 were followed by a NodeCompleted." },
  AgentCompleted: { schema: L.AgentCompleted, version: 1, doc: 'Finished with an output; unspent budget returned.' },
  AgentFailed: { schema: L.AgentFailed, version: 1, doc: 'Ended in failure (timeout, budget, model error, ...), with any partial output.' },
  AgentTerminated: { schema: L.AgentTerminated, version: 1, doc: 'Fired (by its parent or a cascade).' },
  AgentTimedOut: { schema: L.AgentTimedOut, version: 1, doc: 'The deadline passed: seen by the durable timer, or by a decision that would have started more work (a child, a model call, a tool) or completed after it, which records what was done up to there and this instead; the agent fails once no child is live.' },
  AgentTerminating: { schema: L.AgentTerminating, version: 1, doc: 'Being fired: whichever process hosts it starts nothing new and ends its children, then it (AgentTerminated).' },
  BudgetReserved: { schema: B.BudgetReserved, version: 1, doc: 'Worst case of a model call held before calling, before a ModelRequested v1 (no longer written: ModelRequested v2 reserves).' },
  BudgetSettled: { schema: B.BudgetSettled, version: 1, doc: "A reservation replaced by the real usage and cost: after a ModelReplied v1, and for a workflow's planning calls (ModelReplied v2 settles its own call)." },
  BudgetReleased: { schema: B.BudgetReleased, version: 1, doc: 'A reservation given back (failed or aborted call).' },
  BudgetDelegated: { schema: B.BudgetDelegated, version: 1, doc: 'Budget handed to a child, after a ChildSpawned v1 or v2 (no longer written: ChildSpawned v3 delegates).' },
  BudgetReclaimed: { schema: B.BudgetReclaimed, version: 2, doc: "A finished child's unspent budget returned, after a ChildFinished v1 (no longer written: ChildFinished v2 reclaims); v2 adds what its subtree overspent." },
  BudgetOverspent: { schema: B.BudgetOverspent, version: 1, doc: 'A reply used more than its reservation: the excess, charged to the agent, which then fails (budget_exceeded).' },
  ModelRequested: { schema: M.ModelRequested, version: 2, doc: 'A model call about to be made (request stored by hash); v2 reserves its worst case too (reserves), where v1 was preceded by a BudgetReserved.' },
  ModelReplied: { schema: M.ModelReplied, version: 3, doc: "The model's reply, usage and cost; v2 settles the call's reservation too (settles), where v1 was followed by a BudgetSettled; v3 marks a call sent again after a host took the agent over (resent), which the provider may have billed more than once." },
  ModelFailed: { schema: M.ModelFailed, version: 2, doc: 'A model call failed after retries; v2 marks a call sent again after a host took the agent over (resent).' },
  ToolCalled: { schema: M.ToolCalled, version: 1, doc: 'The model asked for a tool.' },
  ToolReturned: { schema: M.ToolReturned, version: 1, doc: "A tool's result." },
  ApprovalRequested: { schema: M.ApprovalRequested, version: 1, doc: 'A tool call that needs approval was parked until a person answers.' },
  ApprovalGranted: { schema: M.ApprovalGranted, version: 1, doc: 'A parked tool call was approved: it runs.' },
  ApprovalDenied: { schema: M.ApprovalDenied, version: 1, doc: "A parked tool call was denied (or timed out): the model reads the reason as the tool's error result." },
  MessageSent: { schema: Q.MessageSent, version: 1, doc: 'A message to another agent (feeds the queue).' },
  MessageReceived: { schema: Q.MessageReceived, version: 1, doc: 'A message claimed by its recipient.' },
  MessageAcked: { schema: Q.MessageAcked, version: 1, doc: 'A message acknowledged; it will not be redelivered.' },
  WorkspaceCreated: { schema: W.WorkspaceCreated, version: 1, doc: 'A git worktree made for the agent.' },
  WorkspaceCommitted: { schema: W.WorkspaceCommitted, version: 1, doc: "The agent's work committed on its branch." },
  WorkspaceMerged: { schema: W.WorkspaceMerged, version: 1, doc: "A child's branch merged into this agent's." },
  WorkspaceMergeConflicted: { schema: W.WorkspaceMergeConflicted, version: 1, doc: "A child's branch conflicted; nothing merged." },
  WorkspaceRemoved: { schema: W.WorkspaceRemoved, version: 1, doc: 'The worktree removed per the cleanup policy.' },
  WorkflowPlanned: { schema: F.WorkflowPlanned, version: 1, doc: "A workflow's accepted graph." },
  WorkflowPlanRejected: { schema: F.WorkflowPlanRejected, version: 1, doc: "A model's plan refused by validation: its answer (cut to 20,000 characters) and the problems." },
  NodeStarted: { schema: F.NodeStarted, version: 1, doc: 'A workflow node given to a child agent, after a ChildSpawned v1 to v3 (no longer written: ChildSpawned v4 starts the node, nodeAttempt; only a node child an old record spawned without it is still adopted with one).' },
  NodeCompleted: { schema: F.NodeCompleted, version: 1, doc: "A node's output, handed to its dependents, after a ChildFinished v1 or v2 (no longer written: ChildFinished v3 completes the node, completesNode; only a node an old record ended without it is still completed with one)." },
  NodeFailed: { schema: F.NodeFailed, version: 1, doc: 'A node attempt failed; maybe retried.' },
  NodeSkipped: { schema: F.NodeSkipped, version: 1, doc: 'A node not run because a dependency failed.' },
} as const;

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]['schema']>;

/** The discriminated union of every event's `{ type, data }`. */
export type DomainEvent = { [T in EventType]: { readonly type: T; readonly data: EventData<T> } }[EventType];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

export const isEventType = (t: string): t is EventType => Object.hasOwn(eventSchemas, t);
