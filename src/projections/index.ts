export { ProjectionRunner, type ProjectionLogger, type ProjectionRunnerOptions, type ProjectionState, type ProjectionStatus } from './runner.js';
export { createReports, AGENT_STATUSES, type Reports, type ReportsOptions, type TreeRow, type AgentRow, type BudgetReport, type BudgetBalance,
  type RoleCostRow, type ActivityRow, type StatusCounts, type AgentStatus } from './reports.js';
export { ledgerOf, type LedgerRow, type LedgerKind } from './ledgerOf.js';
export { physicalTable, tableNames, type Projection, type SqlStatement, type TableNames } from './projection.js';
export { defaultProjections, agentsProjection, workflowsProjection, summarize } from './readModels/index.js';
export type { TreeDetailRow } from './treeDetail.js';
