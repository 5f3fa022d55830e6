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
export { createAgentSystem, type AgentSystem, type AgentSystemOptions } from './system.js';
export { AgentHandle } from './actors/agentHandle.js';
export { Agent, WorkflowAgent } from './agent.js';
export { useDefaultSystem, configureDefaultSystem } from './defaultSystem.js';
export { WorkflowHandle } from './workflows/workflowAgent.js';
export type { SpawnWorkflowRequest } from './workflows/workflowsExtension.js';
export type { DecomposeOptions } from './workflows/decompose.js';
export type { WorkflowProgress, WorkflowNodeProgress } from './workflows/progress.js';
export type { WorkflowGraphInput, WorkflowNodeInput } from './workflows/graph.js';
export type { Reports } from './projections/index.js';
export type { RunResult } from './actors/runtime.js';
export type { AgentState, ChildSummary } from './actors/replay.js';
export type { BudgetStatus } from './actors/budget.js';
export type { SpawnConfig } from './actors/spawnConfig.js';
export type { AgentStatus } from './actors/agentContext.js';
export { createEventStore, type EventStoreConfig } from './events/stores/createEventStore.js';
export type { EventStore, Subscription, AppendOptions, ReadAllOptions, ReadStreamOptions, SubscribeOptions } from './events/eventStore.js';
export type { EventToAppend, RecordedEvent, EventMetadata, ExpectedRevision, AppendResult } from './events/envelope.js';
export { eventSchemas, type DomainEvent, type EventType } from './events/catalogue.js';
export type { ParsedEvent } from './events/upcast.js';
export type { PeekedMessage, DeadLetter } from './messaging/index.js';
export type { ReceivedMessage } from './actors/ports/messagePort.js';
export type { ModelProvider, ModelRequest, ModelReply, ModelUsage } from './actors/ports/modelProvider.js';
export { createOfflineProvider } from './infra/model/offlineProvider.js';
export { createAnthropicProvider } from './infra/model/anthropicProvider.js';
export { createScriptedProvider } from './infra/model/scriptedProvider.js';
export * from './errors.js';
