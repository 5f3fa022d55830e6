/**
 * One agent driven by a scripted model, in a process of its own so that its environment — and so
 * /proc/<pid>/environ — holds the secret the hostile suite tries to steal (the test starts it with
 * ANTHROPIC_API_KEY set). argv: a JSON spec (see HostileSpec). Prints one JSON line: every event
 * of the agent, its tool results and this process's pid.
 */
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { createAgentSystem } from '../../src/system.js';

export interface HostileSpec {
  readonly repo: string;
  readonly basePath: string;
  /** One model turn per entry: the tool calls it makes; a last turn calling `finish` is added. */
  readonly turns: ReadonlyArray<ReadonlyArray<{ name: string; input: unknown }>>;
  readonly allowCommands?: boolean;
  readonly allowedCommands?: string[];
  readonly commandTimeoutMs?: number;
  readonly agentTimeoutMs?: number;
  /** A Postgres database and a schema of its own to keep the events in; an in-memory PGlite without one. */
  readonly postgres?: { readonly url: string; readonly schema: string };
}

const spec = JSON.parse(process.argv[2]!) as HostileSpec;
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });
const model = createScriptedProvider((_r, i) => {
  const turn = spec.turns[i];
  if (!turn) return reply([{ type: 'tool_use', id: 'toolu_end', name: 'finish', input: { output: 'done' } }]);
  return reply(turn.map((c, n) => ({ type: 'tool_use' as const, id: `toolu_${i}_${n}`, name: c.name, input: c.input })));
});

const system = await createAgentSystem({
  store: spec.postgres ? { kind: 'postgres', connectionString: spec.postgres.url } : { kind: 'pglite' },
  schema: spec.postgres?.schema ?? 'hostile',
  model,
  workspace: { repo: spec.repo, basePath: spec.basePath, cleanup: 'never' },
  ...(spec.allowCommands ? { allowCommands: true } : {}),
  ...(spec.allowedCommands ? { allowedCommands: spec.allowedCommands } : {}),
  ...(spec.commandTimeoutMs ? { commandTimeoutMs: spec.commandTimeoutMs } : {}),
});
const agent = await system.spawn({ role: 'operator', task: 'do as told', budget: 500_000, workspace: true, ...(spec.agentTimeoutMs ? { timeoutMs: spec.agentTimeoutMs } : {}) });
const result = await agent.run();
const events = await system.history(agent.id);
const workspace = (await agent.state()).workspace?.path ?? null;
await system.close();
process.stdout.write(`${JSON.stringify({ pid: process.pid, result, events, workspace }, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}\n`);
process.exit(0);
