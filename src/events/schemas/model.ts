import { z } from 'zod';
import { Tokens } from './common.js';

const Usage = z.object({ inputTokens: Tokens, outputTokens: Tokens, cacheReadTokens: Tokens, cacheCreationTokens: Tokens });
/**
 * A tool call's input as stored: optional because a reply whose call had none was taken (and
 * stored without the key) until the reply schema refused it; such a history must still open.
 */
const ToolInput = z.unknown().optional().transform((input): unknown => input);
const Block = z.union([
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: ToolInput }),
]);

/**
 * A model call about to be made; `requestRef` is the content hash of the request in the blob
 * table. v2 holds its worst case itself (`reserves: true`: `reserved` tokens under the call's
 * id), where a v1 request was preceded by a BudgetReserved: the two always travelled together,
 * and one event is a row and ~350 bytes less per call (issue 19). v1 reads as `reserves: false`.
 */
export const ModelRequested = z.object({
  callId: z.string(),
  turn: z.number().int().nonnegative(),
  provider: z.string(),
  model: z.string(),
  requestRef: z.string(),
  reserved: Tokens,
  reserves: z.boolean(),
});
/**
 * Set on a reply or failure (since ModelReplied v3 and ModelFailed v2) to a call this host sent
 * after taking the agent over with the call recorded and unanswered: the host before it (or this
 * process before a restart) may have sent it too, maybe more than once, so the provider may have
 * billed it more than once while the history stores one reply. Absent on every other call, and on records older than those
 * versions, whose history cannot tell.
 */
const Resent = z.literal(true).optional();

/**
 * The model's reply. v2 settles the call's reservation itself (`settles: true`: the reply's
 * whole usage, `totalTokens(usage)`, is consumed and `costUsd` charged), where a v1 reply was
 * followed by a BudgetSettled that did. v1 reads as `settles: false`. v3 may carry `resent`.
 */
export const ModelReplied = z.object({
  callId: z.string(),
  model: z.string(),
  content: z.array(Block),
  stopReason: z.string(),
  usage: Usage,
  costUsd: z.number().nonnegative(),
  settles: z.boolean(),
  resent: Resent,
});
/** A model call that failed; v2 may carry `resent`. */
export const ModelFailed = z.object({ callId: z.string(), error: z.string(), retryable: z.boolean(), resent: Resent });
export const ToolCalled = z.object({ toolUseId: z.string(), name: z.string(), input: ToolInput });
export const ToolReturned = z.object({
  toolUseId: z.string(),
  name: z.string(),
  /** The result text, or a blob reference (`blob:<sha256>`) when large. */
  output: z.string(),
  isError: z.boolean(),
});

/**
 * A tool call that needs a person's yes (`needsApproval`) was parked: the agent waits, holding no
 * concurrency slot, until ApprovalGranted (the tool then runs) or ApprovalDenied (recorded with
 * the call's error result, which the model reads). `callId` is the call's toolUseId.
 */
export const ApprovalRequested = z.object({
  callId: z.string(),
  tool: z.string(),
  input: ToolInput,
  requestedAt: z.string(),
  /** When an unanswered request is denied on its own (the tool's approvalTimeoutMs); null: never. */
  expiresAt: z.string().nullable(),
});
export const ApprovalGranted = z.object({ callId: z.string(), by: z.string().nullable() });
export const ApprovalDenied = z.object({ callId: z.string(), reason: z.string(), by: z.string().nullable() });
