import { createAgentSystem, type AgentSystem, type AgentSystemOptions } from 'cadre';

/**
 * Examples take a system (the tests pass one on a fresh in-memory store) or make their own from
 * the environment: embedded PGlite, offline model unless ANTHROPIC_API_KEY is set. An example
 * that needs the system made with some options (MCP servers) exports them as `systemOptions`,
 * which the tests give the system they pass.
 */
export async function useSystem<T>(given: AgentSystem | undefined, fn: (system: AgentSystem) => Promise<T>, options: AgentSystemOptions = {}): Promise<T> {
  const system = given ?? (await createAgentSystem(options));
  try {
    return await fn(system);
  } finally {
    if (!given) await system.close();
  }
}

/** Runs `main` when the file is executed directly (`npx tsx examples/<name>.ts`). */
export function runIfMain(meta: ImportMeta, main: () => Promise<unknown>): void {
  if (process.argv[1] && new URL(meta.url).pathname === process.argv[1]) {
    main().then((r) => console.log(r), (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
  }
}
