/**
 * cadre's public API. Everything a program needs is exported here by name.
 *
 * @example
 * import { createAgentSystem } from 'cadre';
 * const system = await createAgentSystem();
 * const lead = await system.spawn({ role: 'lead', task: 'Plan the release', budget: 20_000 });
 * const result = await lead.run();
 * await system.close();
 */
export { createAgentSystem, type AgentSystem, type AgentSystemOptions, type SystemInternals } from './system.js';
export { AgentHandle, type OutputOf } from './actors/agentHandle.js';
export { tool, type UserTool, type ToolRunContext } from './actors/userTool.js';
export type { McpServerOption, StdioMcpServerOption, HttpMcpServerOption } from './infra/mcp/mcpServerOptions.js';
export { Agent, WorkflowAgent } from './agent.js';
export { useDefaultSystem, configureDefaultSystem } from './defaultSystem.js';
export { WorkflowHandle } from './workflows/workflowAgent.js';
export type { SpawnWorkflowRequest, WorkflowsApi } from './workflows/workflowsApi.js';
export type { WorkflowTemplate } from './workflows/templates.js';
export type { WatchOptions } from './workflows/watch.js';
export type { DecomposeOptions } from './workflows/decompose.js';
export type { WorkflowProgress, WorkflowNodeProgress } from './workflows/progress.js';
export type { WorkflowGraphInput, WorkflowNodeInput } from './workflows/graph.js';
export type {
  Reports, TreeRow, AgentRow, BudgetReport, BudgetBalance, RoleCostRow, ActivityRow, LedgerRow, LedgerKind, StatusCounts,
  ProjectionRunner, ProjectionStatus, ProjectionState,
} from './projections/index.js';
export type { RunResult } from './actors/runtime.js';
export type { AgentState, ChildSummary } from './actors/replay.js';
export type { BudgetStatus } from './actors/budget.js';
export type { SpawnConfig } from './actors/spawnConfig.js';
export type { ForkOptions } from './actors/runtime/forking.js';
export { runFacts, type RunFacts, type RunReader } from './system/compareRuns.js';
export type { AgentStatus, AgentResult, NodeState } from './actors/agentContext.js';
export { createEventStore, type EventStoreConfig } from './events/stores/createEventStore.js';
export type { EventStore, Subscription, AppendOptions, ReadAllOptions, ReadStreamOptions, SubscribeOptions } from './events/eventStore.js';
export type { EventToAppend, RecordedEvent, EventMetadata, StoredMetadata, ExpectedRevision, AppendResult } from './events/envelope.js';
export { fullMetadata } from './events/metadata.js';
export { eventSchemas, type DomainEvent, type EventType } from './events/catalogue.js';
export type { HistoryEvent } from './events/historyEvent.js';
export type { AgentEventsOptions } from './actors/agentEvents.js';
export type { ModelTextProgress } from './actors/runtime/progressHub.js';
export type { SystemEventsOptions } from './events/systemEvents.js';
export type { Messaging, SendOptions, ReceiveOptions, PeekOptions, PeekedMessage, DeadLetter } from './messaging/index.js';
export type { Workspaces } from './infra/workspace/workspaces.js';
export type { WorkspacePort, WorkspaceInfo, WorkspaceFilesPort, MergeOutcome } from './actors/ports/workspacePort.js';
export type { WorkspaceListing, WorkspaceDiff, DiffFile, RemoveResult } from './infra/workspace/workspaceTypes.js';
export type { RemoveOptions } from './infra/workspace/removeWorkspace.js';
export type { Redactor } from './infra/redact.js';
export type { Logger, Clock, IdGenerator } from './actors/ports/runtimePorts.js';
export type { ReceivedMessage } from './actors/ports/messagePort.js';
export type { ModelProvider, ModelRequest, ModelReply, ModelUsage } from './actors/ports/modelProvider.js';
export { createOfflineProvider } from './infra/model/offlineProvider.js';
export { createAnthropicProvider } from './infra/model/anthropicProvider.js';
export { createScriptedProvider } from './infra/model/scriptedProvider.js';
export * from './errors.js';
