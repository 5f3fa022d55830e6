/**
 * An MCP server as a tool source: cadre starts the fixture server (tests/fixtures/mcpServer.mjs)
 * over stdio when the system is created and closes it with the system. Its tools reach the model
 * as `calc__add`, `calc__echo_env` and `calc__fail`, with the server's own JSON Schemas; each call
 * is recorded like any tool's. The server's env is configuration of this process: the secret
 * reaches the server, and no event. With the offline model each tool is called once with the
 * simplest input its schema accepts.
 */
import { fileURLToPath } from 'node:url';
import type { AgentSystem, AgentSystemOptions } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

const SECRET = 'example-secret-5c1f';

/** The system this example needs: servers are started once per process, when it is created. */
export const systemOptions: AgentSystemOptions = {
  mcpServers: [
    {
      name: 'calc',
      command: process.execPath,
      args: [fileURLToPath(new URL('../tests/fixtures/mcpServer.mjs', import.meta.url))],
      env: { FIXTURE_SECRET: SECRET },
    },
    // Over streamable HTTP instead: { name: 'calc', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer …' } }
  ],
};

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    // Every root agent may call the servers' tools; spawn({ tools: ['calc__add'] }) would pick.
    const agent = await system.spawn({ role: 'accountant', task: 'Check the calculator works.', budget: 20_000 });
    const result = await agent.run();
    const history = await agent.history();
    const results = history.flatMap((e) => (e.type === 'ToolReturned' ? [e.data as { name: string; output: string; isError: boolean }] : []));
    return {
      status: result.status,
      answer: result.output,
      calls: results.map((r) => `${r.name} -> ${r.isError ? 'error: ' : ''}${r.output}`),
      secretInEvents: JSON.stringify(history).includes(SECRET),
    };
  }, systemOptions);
}

runIfMain(import.meta, main);
