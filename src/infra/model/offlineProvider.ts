/**
 * The offline model: deterministic rules, no network, not a language model (and it says so in
 * everything it writes). It drives the agent loop's tool-use protocol so that the demo, the
 * tests and the benchmarks exercise the same path a real model does.
 *
 * Rules, applied to each request in this order:
 * 1. `submit_plan` is forced (or is the only tool): call it with a plan from `planFromTask`
 *    (see offlinePlanner.ts), task and roles read from the decomposition request.
 * 2. Another forced tool: only `write_file` and `finish` are understood; any other is a
 *    `ModelError`.
 * 3. The agent has a workspace, `write_file` is offered and no `write_file` call has been made
 *    in this conversation: call `write_file` with `{ path, content }`, path
 *    `<role-slug>/<task-slug>.md`, content a note naming role and task, quoting the first user
 *    message (a workflow node's upstream outputs as a digest: header, first line, length), and
 *    stating that no LLM wrote it.
 * 4. A user tool (any tool not cadre's own) is offered and not yet called in this conversation:
 *    call the first such with the simplest input its schema accepts (schemaExample.ts).
 * 5. Otherwise, `finish` offered: call `finish` with `{ output }`, a one-line summary (it
 *    mentions the note, or that writing it failed when the tool_result was an error, and what
 *    user tools answered); when finish's `output` is a structured schema, the simplest value it
 *    accepts, with the summary for its text.
 * 6. Otherwise: answer that summary as text, stop reason `end_turn`.
 * Tool-use ids are `toolu_offline_<number of messages so far>`, so they are unique within a
 * conversation and identical when the same request is replayed.
 *
 * Usage: the `usage` option when given, else input = `estimateInputTokens(request)` and
 * output = ceil(JSON length of the reply content / 4). Output never exceeds `maxTokens`: long
 * text is shortened (ending in `…`) and if even the shortest tool call does not fit, the reply
 * is a cut text with stop reason `max_tokens`, as a real model's would be.
 */
import type {
  ModelProvider,
  ModelReply,
  ModelRequest,
  ModelTextBlock,
  ModelToolUseBlock,
  StopReason,
} from '../../actors/ports/modelProvider.js';
import { Aborted, InvalidInput, ModelError } from '../../errors.js';
import { abortReason, abortableSleep } from './abortableSleep.js';
import { SUBMIT_PLAN_TOOL, readDecompositionRequest } from './decompositionRequest.js';
import { estimateInputTokens } from './estimateInputTokens.js';
import { planFromTask } from './offlinePlanner.js';
import { schemaExample } from './schemaExample.js';
import { slug } from './slug.js';

export const OFFLINE_MODEL = 'offline-rules-v1';
export const OFFLINE_DISCLAIMER = "Produced by cadre's offline rule-based model: deterministic rules, not an LLM.";

/** Roles a plan may use when a forced `submit_plan` request does not enumerate them. */
const FALLBACK_ROLES = ['architect', 'implementer', 'tester', 'reviewer'];
/** How much of the first user message a note quotes. */
const MAX_QUOTED_CHARS = 4000;

export interface OfflineProviderOptions {
  /** Simulated latency per call; 0 (the default) answers without touching a timer. */
  readonly latencyMs?: number;
  /** Fixed usage reported for every call (output still capped at maxTokens). */
  readonly usage?: { readonly input: number; readonly output: number };
}

type Content = (ModelTextBlock | ModelToolUseBlock)[];
interface Draft {
  readonly stopReason: StopReason;
  /** Builds the content with its variable text cut to `limit` characters. */
  readonly build: (limit: number) => Content;
  /** Length of that variable text uncut. */
  readonly fullLength: number;
}

/**
 * Creates the offline model (`name: 'offline'`, `isLLM: false`).
 *
 * @example
 * const model = createOfflineProvider({ latencyMs: 0 });
 * const reply = await model.complete({
 *   system: '', messages: [{ role: 'user', content: [{ type: 'text', text: 'Add a README' }] }],
 *   tools: [finishTool], maxTokens: 512,
 *   agent: { id: 'a1', role: 'implementer', task: 'Add a README', hasWorkspace: false },
 * });
 * // reply.content[0] is a tool_use of `finish` with a summary saying it is not an LLM
 */
export function createOfflineProvider(options: OfflineProviderOptions = {}): ModelProvider {
  const latencyMs = options.latencyMs ?? 0;
  return {
    name: 'offline',
    isLLM: false,
    defaultModel: OFFLINE_MODEL,
    async complete(request, callOptions = {}) {
      const { signal } = callOptions;
      if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
        throw new InvalidInput('maxTokens', `must be a positive integer, got ${request.maxTokens}`);
      }
      if (signal?.aborted) throw new Aborted(abortReason(signal));
      if (latencyMs > 0) await abortableSleep(latencyMs, signal);
      return reply(request, draft(request), options.usage);
    },
    estimateInputTokens: (request) => estimateInputTokens(request),
  };
}

function reply(request: ModelRequest, d: Draft, fixed: OfflineProviderOptions['usage']): ModelReply {
  const { content, stopReason } = fit(d, request.maxTokens);
  const computed = outputTokens(content);
  return {
    model: OFFLINE_MODEL,
    content,
    stopReason,
    usage: {
      inputTokens: fixed?.input ?? estimateInputTokens(request),
      outputTokens: Math.min(fixed?.output ?? computed, request.maxTokens),
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
    },
  };
}

const outputTokens = (content: Content): number => Math.ceil(JSON.stringify(content).length / 4);

/** The longest version of the draft within `maxTokens`, else a cut text ending at max_tokens. */
function fit(d: Draft, maxTokens: number): { content: Content; stopReason: StopReason } {
  const full = d.build(d.fullLength);
  if (outputTokens(full) <= maxTokens) return { content: full, stopReason: d.stopReason };
  const limit = largestFitting(d.fullLength, (n) => outputTokens(d.build(n)) <= maxTokens);
  if (limit !== undefined) return { content: d.build(limit), stopReason: d.stopReason };
  const text = `${OFFLINE_DISCLAIMER} ${JSON.stringify(full)}`;
  const cut = (n: number): Content => [{ type: 'text', text: text.slice(0, n) }];
  const n = largestFitting(text.length, (k) => outputTokens(cut(k)) <= maxTokens);
  return { content: n === undefined ? [] : cut(n), stopReason: 'max_tokens' };
}

/** Binary search for the largest n in [0, max] with ok(n), ok being monotone; undefined if none. */
function largestFitting(max: number, ok: (n: number) => boolean): number | undefined {
  if (!ok(0)) return undefined;
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Cuts `text` to `limit` characters, marking the cut. */
const shorten = (text: string, limit: number): string =>
  text.length <= limit ? text : `${text.slice(0, Math.max(0, limit - 1))}…`;

function draft(request: ModelRequest): Draft {
  const tools = new Set(request.tools.map((t) => t.name));
  const forced = request.toolChoice?.type === 'tool' ? request.toolChoice.name : undefined;
  const id = `toolu_offline_${request.messages.length}`;

  if (forced === SUBMIT_PLAN_TOOL || (forced === undefined && tools.size === 1 && tools.has(SUBMIT_PLAN_TOOL))) {
    const ask = readDecompositionRequest(request);
    const task = ask?.task ?? request.agent?.task ?? firstUserText(request);
    const plan = planFromTask(task, ask?.roles ?? FALLBACK_ROLES);
    return fixedDraft('tool_use', [{ type: 'tool_use', id, name: SUBMIT_PLAN_TOOL, input: plan }]);
  }
  if (forced !== undefined && forced !== 'write_file' && forced !== 'finish') {
    throw new ModelError(`the offline model has no rule for the forced tool ${forced}`);
  }

  const role = request.agent?.role ?? 'agent';
  const task = request.agent?.task ?? firstUserText(request);
  const path = `${slug(role, 40, 'agent')}/${slug(task, 48, 'task')}.md`;
  const attempt = noteAttempt(request);

  const wantsNote = forced === 'write_file' || (forced === undefined && request.agent?.hasWorkspace === true && tools.has('write_file') && !attempt);
  if (wantsNote) {
    const note = noteFor(request, role, task);
    return {
      stopReason: 'tool_use',
      fullLength: note.length,
      build: (limit) => [{ type: 'tool_use', id, name: 'write_file', input: { path, content: shorten(note, limit) } }],
    };
  }

  const userTool = forced === undefined ? request.tools.find((t) => !CADRE_TOOLS.has(t.name) && !calledBefore(request, t.name)) : undefined;
  if (userTool) return fixedDraft('tool_use', [{ type: 'tool_use', id, name: userTool.name, input: schemaExample(userTool.inputSchema, role) }]);

  const summary = summaryFor(role, task, attempt) + userToolAnswers(request);
  if (forced === 'finish' || tools.has('finish')) {
    const outputSchema = (request.tools.find((t) => t.name === 'finish')?.inputSchema.properties as Record<string, unknown> | undefined)?.output as { type?: unknown } | undefined;
    const structured = outputSchema !== undefined && outputSchema.type !== 'string';
    return {
      stopReason: 'tool_use',
      fullLength: summary.length,
      build: (limit) => [{ type: 'tool_use', id, name: 'finish', input: { output: structured ? schemaExample(outputSchema, shorten(summary, limit)) : shorten(summary, limit) } }],
    };
  }
  return { stopReason: 'end_turn', fullLength: summary.length, build: (limit) => [{ type: 'text', text: shorten(summary, limit) }] };
}

/** cadre's own tools: any other offered is a user tool (rule 4). */
const CADRE_TOOLS = new Set(['read_file', 'write_file', 'list_files', 'search_files', 'run_command', 'spawn_agent', 'send_message', 'receive_messages', 'finish', SUBMIT_PLAN_TOOL]);

const calledBefore = (request: ModelRequest, name: string): boolean =>
  request.messages.some((m) => m.content.some((b) => b.type === 'tool_use' && b.name === name));

/** What the user tools called in this conversation answered, for the summary: ` get_weather said: …`. */
function userToolAnswers(request: ModelRequest): string {
  const names = new Map<string, string>();
  const said: string[] = [];
  for (const m of request.messages) {
    for (const b of m.content) {
      if (b.type === 'tool_use' && !CADRE_TOOLS.has(b.name)) names.set(b.id, b.name);
      if (b.type === 'tool_result' && names.has(b.toolUseId)) said.push(`${names.get(b.toolUseId)!} ${b.isError ? 'failed' : 'said'}: ${shorten(oneLine(b.content), 200)}`);
    }
  }
  return said.length > 0 ? ` ${said.join('; ')}.` : '';
}

const fixedDraft = (stopReason: StopReason, content: Content): Draft => ({ stopReason, fullLength: 0, build: () => content });

function firstUserText(request: ModelRequest): string {
  const first = request.messages.find((m) => m.role === 'user');
  return (first?.content ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n').trim();
}

/** The earlier write_file call and, once it came back, whether it failed. */
function noteAttempt(request: ModelRequest): { path: string; error?: string } | undefined {
  let call: { id: string; path: string } | undefined;
  for (const message of request.messages) {
    for (const block of message.content) {
      if (block.type === 'tool_use' && block.name === 'write_file' && call === undefined) {
        const input = block.input as { path?: unknown } | null;
        call = { id: block.id, path: typeof input?.path === 'string' ? input.path : '' };
      }
      if (block.type === 'tool_result' && call !== undefined && block.toolUseId === call.id && block.isError) {
        return { path: call.path, error: block.content };
      }
    }
  }
  return call && { path: call.path };
}

function noteFor(request: ModelRequest, role: string, task: string): string {
  const quoted = shorten(inputDigest(firstUserText(request)), MAX_QUOTED_CHARS)
    .split('\n')
    .map((line) => `> ${line}`.trimEnd())
    .join('\n');
  return [
    `# ${role}: ${oneLine(task)}`,
    '',
    `_${OFFLINE_DISCLAIMER} No language model was called; this note records what the agent was asked to do and what it received._`,
    '',
    `- Role: ${role}`,
    `- Task: ${oneLine(task)}`,
    ...(request.agent ? [`- Agent: ${request.agent.id}`] : []),
    '',
    '## Input received (task, and a digest of upstream outputs)',
    '',
    quoted || '> (empty)',
    '',
  ].join('\n');
}

/** The line a workflow node's task puts before its dependencies' outputs (scheduler.ts nodeTask). */
const INPUTS_HEADING = 'Inputs from the nodes this one depends on:';
const UPSTREAM_HEADER = /^--- .+ ---$/;

/**
 * The input as a note quotes it: everything before a workflow node's upstream outputs as it is,
 * and each upstream output as its header, its first line cut short and its length. Quoting them
 * whole made each note hold every upstream note's quote in turn.
 */
function inputDigest(input: string): string {
  const at = input.indexOf(INPUTS_HEADING);
  if (at < 0) return input;
  const out = [input.slice(0, at).trimEnd(), '', INPUTS_HEADING];
  let body: string[] | null = null;
  const flush = (): void => {
    if (body === null) return;
    const text = body.join('\n').trim();
    const first = oneLine(text.split('\n')[0] ?? '');
    out.push(text === '' ? '(no output)' : `${shorten(first, 160)} (${text.length} characters)`);
  };
  for (const line of input.slice(at + INPUTS_HEADING.length).split('\n')) {
    if (UPSTREAM_HEADER.test(line)) {
      flush();
      out.push(line);
      body = [];
    } else body?.push(line);
  }
  flush();
  return out.join('\n');
}

function summaryFor(role: string, task: string, attempt: { path: string; error?: string } | undefined): string {
  const head = `[offline rule-based model, not an LLM] ${role} finished "${ownTask(task)}"`;
  if (attempt === undefined) return `${head}.`;
  if (attempt.error !== undefined) return `${head}; writing ${attempt.path} failed: ${oneLine(attempt.error)}.`;
  return `${head}; notes in ${attempt.path}.`;
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

const MAX_QUOTED_TASK = 160;

/**
 * The task as its summary quotes it: its first paragraph, on one line, cut short. A workflow
 * node's task goes on with the workflow's task and its dependencies' outputs; quoting all of it
 * made each output hold every upstream one, and the review's the design text three times.
 */
function ownTask(task: string): string {
  const first = oneLine(task.split(/\n\s*\n/)[0] ?? '');
  return first.length <= MAX_QUOTED_TASK ? first : `${first.slice(0, MAX_QUOTED_TASK - 1)}…`;
}
