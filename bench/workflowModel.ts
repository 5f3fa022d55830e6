import type { ModelProvider, ModelRequest } from '../src/actors/ports/modelProvider.js';

/** The four nodes of the benchmark's workflow, in order; each is one agent with one model call. */
export const WORKFLOW_ROLES = ['architect', 'tester', 'implementer', 'reviewer'] as const;

/**
 * The task of a side's `n`th run: distinct per run on both sides, as real runs are. With one
 * task for every run, cadre's model requests were the same content-addressed blob run after run
 * and stored once, which flattered its bytes per step by ~750.
 */
export const workflowTask = (n: number): string => `Add a slugify helper (run ${n}).`;

/** Fixed usage per call, the same on both sides, so token bookkeeping costs the same work. */
export const FAKE_USAGE = { input: 100, output: 50 } as const;

/**
 * The model both sides call: no latency, fixed usage, a fixed short text per role. No LLM
 * library on either side: the figures measure the frameworks and their storage, not a model.
 */
export interface FakeModel {
  call(role: string): Promise<{ text: string; input: number; output: number }>;
  /** Calls so far: the benchmark checks it is exactly four per run. */
  readonly calls: number;
}

export function fakeModel(): FakeModel {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async call(role) {
      calls++;
      return { text: `${role}: done.`, input: FAKE_USAGE.input, output: FAKE_USAGE.output };
    },
  };
}

/**
 * The fake model as cadre's model port: every call answers with the `finish` tool, so each node
 * agent makes exactly one call and completes.
 */
export function fakeModelProvider(model: FakeModel): ModelProvider {
  return {
    name: 'scripted',
    isLLM: false,
    defaultModel: 'scripted-bench',
    async complete(request: ModelRequest) {
      const r = await model.call(request.agent?.role ?? 'unknown');
      return {
        model: 'scripted-bench',
        content: [{ type: 'tool_use', id: 'toolu_bench', name: 'finish', input: { output: r.text } }],
        stopReason: 'tool_use',
        usage: { inputTokens: r.input, outputTokens: r.output, cacheReadTokens: 0, cacheCreationTokens: 0 },
      };
    },
    // What the model will report: the runtime reserves this plus max_tokens before each call.
    estimateInputTokens: () => FAKE_USAGE.input,
  };
}
