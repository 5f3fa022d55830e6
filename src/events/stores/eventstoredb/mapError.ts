import { InvalidInput, StoreUnavailable, WrongExpectedRevision } from '../../../errors.js';
import type { ExpectedRevision } from '../../envelope.js';
import { describeExpected } from '../../envelope.js';

/** What the adapter was doing when the client failed, to name it in our error. */
export interface ErrorContext {
  readonly streamId?: string;
  readonly expected?: ExpectedRevision;
  readonly operation: string;
  /** True when the operation reads `$all` (readAll, headPosition, subscribeToAll): access denied then names the ACL. */
  readonly readsAll?: boolean;
}

// gRPC status codes that mean "the server could not be reached or did not answer in time".
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

const UNREACHABLE_TYPES = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'not-leader', 'cancelled']);

const field = (err: object, key: string): unknown => (key in err ? (err as Record<string, unknown>)[key] : undefined);

/** The client's `CommandError.type` (e.g. `wrong-expected-version`), if it is one. */
export function clientErrorType(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const t = field(err, 'type');
  return typeof t === 'string' ? t : undefined;
}

export const isStreamNotFound = (err: unknown): boolean => clientErrorType(err) === 'stream-not-found';

function isUnreachable(err: object): boolean {
  const type = clientErrorType(err);
  if (type !== undefined && UNREACHABLE_TYPES.has(type)) return true;
  const code = field(err, 'code');
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED || code === GRPC_RESOURCE_EXHAUSTED) return true;
  const message = field(err, 'message');
  return typeof message === 'string' && UNREACHABLE_MESSAGE.test(message);
}

// Client 1.3.1 reads through @kurrent/bridge (Rust), which turns only connection-setup failures
// into UnavailableError: on an open connection a gRPC Unavailable arrives as
// UnknownError("Server-side error: …"), a deadline as "Deadline exceeded", a dropped connection
// as "Connection is closed." (strings from the bridge's binary). All mean "try again".
const UNREACHABLE_MESSAGE = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|No connection established|unavailable|Server-side error|Deadline exceeded|Connection is closed|connection reset|broken pipe/i;

const actualOf = (value: unknown): bigint | 'no_stream' => {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return BigInt(value);
  return 'no_stream';
};

/**
 * Translates an error of @kurrent/kurrentdb-client into cadre's error family (STYLE.md: adapters
 * translate): WrongExpectedVersion → `WrongExpectedRevision` with the actual revision, an
 * unreachable or timed-out server → `StoreUnavailable` (retryable), refused input → `InvalidInput`.
 * Anything else is returned unchanged: an unknown failure stays visible as itself.
 *
 * @example
 * try { await client.appendToStream(s, events, o); } catch (e) { throw mapClientError(e, { streamId: s, operation: 'append' }); }
 */
export function mapClientError(err: unknown, ctx: ErrorContext): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const type = clientErrorType(err);
  const message = String(field(err, 'message') ?? '');
  switch (type) {
    case 'wrong-expected-version': {
      const streamId = ctx.streamId ?? String(field(err, 'streamName') ?? 'unknown');
      const expected = ctx.expected !== undefined ? describeExpected(ctx.expected) : String(field(err, 'expectedState') ?? 'unknown');
      return new WrongExpectedRevision(streamId, expected, actualOf(field(err, 'actualState')), { cause: err });
    }
    case 'maximum-append-size-exceeded':
      return new InvalidInput('events', `the append is larger than the server's MaxAppendSize (${String(field(err, 'maxAppendSize') ?? 'unknown')} bytes); raise it on the server or append fewer events`, { cause: err });
    case 'append-record-size-exceeded':
      return new InvalidInput('events', `an event is larger than the server's maximum record size (${String(field(err, 'maxSize') ?? 'unknown')} bytes)`, { cause: err });
    case 'stream-deleted':
    case 'stream-tombstoned':
      return new InvalidInput('streamId', `stream ${ctx.streamId ?? String(field(err, 'streamName') ?? '?')} was deleted in KurrentDB`, { cause: err });
    case 'invalid-argument':
      return new InvalidInput(ctx.operation, message || 'refused by the client as an invalid argument', { cause: err });
    case 'access-denied':
      return new StoreUnavailable(
        ctx.readsAll
          ? `KurrentDB refused ${ctx.operation}: access denied reading $all. cadre reads $all; by default only $admins and $ops may. Connect as such a user or grant this user read on $all (docs/eventstoredb.md, "Users and ACLs")`
          : `KurrentDB refused ${ctx.operation}: access denied (check the credentials in the connection string and the stream's ACL)`,
        { cause: err, retryable: false },
      );
    default:
      if (isUnreachable(err)) {
        return new StoreUnavailable(`KurrentDB is unavailable during ${ctx.operation}: ${message || type || 'no answer'}`, { cause: err, hint: 'is KurrentDB running and reachable? check its connection string (EVENT_STORE)' });
      }
      return err;
  }
}
