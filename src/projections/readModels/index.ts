import type { Projection } from '../projection.js';
import { agentsProjection } from './agents.js';
import { approvalsProjection } from './approvals.js';
import { workflowsProjection } from './workflows.js';

export { summarize } from '../summarize.js';
export { agentsProjection } from './agents.js';
export { workflowsProjection } from './workflows.js';
export { approvalsProjection } from './approvals.js';

/**
 * cadre's built-in read models. The list is composable: other components (the message queue,
 * dead letters) add their own projections next to these.
 *
 * @example
 * const runner = new ProjectionRunner({ store, sql, schema: 'cadre', projections: [...defaultProjections(), deadLetters] });
 */
export const defaultProjections = (): Projection[] => [agentsProjection, workflowsProjection, approvalsProjection];
