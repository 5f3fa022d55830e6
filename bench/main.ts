/**
 * `npm run bench -- [eventstore|actors|projections|messages|workspaces|load|cli|workflow|requests ...] [--scale 0.2]`
 * Each benchmark prints a table that compares cadre with the physical limit measured in the
 * same run. With no name, all run.
 */
import { benchEventStore } from './eventstore.js';

type Bench = (scale: number) => Promise<unknown>;

const benches: Record<string, () => Promise<Bench>> = {
  eventstore: async () => benchEventStore,
  actors: async () => (await import('./actors.js')).benchActors,
  messages: async () => (await import('./messages.js')).benchMessages,
  workspaces: async () => {
    const { benchWorkspaces } = await import('./workspaces.js');
    return async (scale: number) => {
      const rows = await benchWorkspaces({ iterations: Math.max(5, Math.round(50 * scale)) });
      console.log('\nworkspaces (git worktrees, p50/p99 ms)');
      console.table(rows);
      return rows;
    };
  },
  projections: async () => (await import('./projections.js')).benchProjections,
  load: async () => (await import('./load.js')).benchLoad,
  cli: async () => (await import('./cliStartup.js')).benchCliStartup,
  requests: async () => (await import('./requests.js')).benchRequests,
  workflow: async () => {
    const { benchWorkflow } = await import('./workflow.js');
    return (scale: number) => benchWorkflow(scale);
  },
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scaleIdx = args.indexOf('--scale');
  const scale = scaleIdx >= 0 ? Number(args[scaleIdx + 1]) : 1;
  const names = args.filter((a, i) => !a.startsWith('--') && (scaleIdx < 0 || i !== scaleIdx + 1));
  const chosen = names.length > 0 ? names : Object.keys(benches);
  for (const name of chosen) {
    const load = benches[name];
    if (!load) {
      console.error(`unknown benchmark ${name}; choose from: ${Object.keys(benches).join(', ')}`);
      process.exitCode = 2;
      return;
    }
    await (await load())(scale);
  }
}

await main();
