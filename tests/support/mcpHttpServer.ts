import { createServer, type IncomingMessage, type Server } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createFixtureServer } from '../fixtures/mcpServer.mjs';
import { freePort } from './freePort.js';

export interface McpHttpFixture {
  /** `http://127.0.0.1:<port>/mcp` */
  readonly url: string;
  /** The headers of every request it was sent, lower-cased names. */
  readonly requests: IncomingMessage['headers'][];
  close(): Promise<void>;
}

/**
 * The fixture's tools (tests/fixtures/mcpServer.mjs) over streamable HTTP in this process, on a
 * free port, stateless (a server per request, as the SDK's stateless example does). With
 * `authorization`, a request without that exact header is answered 401, so a test knows the
 * client sent it.
 */
export async function startMcpHttpFixture(options: { authorization?: string; env?: Record<string, string> } = {}): Promise<McpHttpFixture> {
  const port = await freePort();
  const requests: IncomingMessage['headers'][] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.headers);
    if (options.authorization && req.headers.authorization !== options.authorization) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const mcp = createFixtureServer(options.env ?? {});
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
