import type { FakeMessagesApi } from './fakeMessagesApi.js';

/**
 * Scripts a local Messages API so every call finishes its agent (a `finish` tool call), after
 * `delayMs()` and once `until()` resolves, and lets a test wait for the n-th request: the
 * user-path tests' model, whose requests they compare with the calls the history records.
 *
 * @example
 * const model = countingModel(api, { delayMs: () => 2500 });
 * await model.request(1); // the first model call has reached the server
 */
export function countingModel(api: FakeMessagesApi, options: { delayMs: () => number; until?: () => Promise<unknown> }): { request(n: number): Promise<void> } {
  let calls = 0;
  let arrivals: Array<{ n: number; resolve: () => void }> = [];
  api.setFallback(() => {
    calls++;
    for (const a of arrivals.filter((x) => x.n <= calls)) a.resolve();
    arrivals = arrivals.filter((x) => x.n > calls);
    return {
      kind: 'message',
      delayMs: options.delayMs(),
      ...(options.until ? { until: options.until() } : {}),
      message: { content: [{ type: 'tool_use', id: `toolu_${calls}`, name: 'finish', input: { output: `done ${calls}` } }], stopReason: 'tool_use', usage: { input_tokens: 300, output_tokens: 40 } },
    };
  });
  return {
    request: (n) => (n <= calls ? Promise.resolve() : new Promise((resolve) => arrivals.push({ n, resolve }))),
  };
}

/** Model calls the history records (ModelRequested in the CLI's `cadre` schema), and requests the API received. */
export async function tally(db: { query<R extends Record<string, unknown>>(text: string): Promise<R[]> }, api: FakeMessagesApi): Promise<{ recorded: number; requests: number }> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cadre.events WHERE type = 'ModelRequested'`);
  return { recorded: row!.n, requests: api.messageRequests().length };
}

/** The JSON document a `--json` command printed (after any log lines). */
export const jsonOf = <T>(output: string): T => JSON.parse(output.slice(output.indexOf('{'))) as T;
