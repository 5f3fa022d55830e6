// Moved to src/infra/signals.ts (one module for cadre's signals); messaging.ts still imports it from here.
export { KeyedSignal } from '../infra/signals.js';
