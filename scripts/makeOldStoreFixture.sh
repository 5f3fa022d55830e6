#!/usr/bin/env bash
# Regenerates tests/fixtures/stores/c53f705.sql and c53f705.expected.json: a Postgres store
# written by cadre at commit c53f705, and what that version read back from it. The tests never
# run this; tests/int/oldStoreOpens.int.test.ts loads the committed files and opens them with
# today's code ("old data still opens").
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/makeOldStoreFixture.sh
#
# What it does:
#  1. checks c53f705 out into a temporary git worktree and runs `npm ci` there;
#  2. creates a database of its own and runs the scenario below with THAT version's API, from a
#     folder outside any git repository (no worktrees): a tdd-workflow run to completion, a tree
#     whose child b (with its child) is fired, a spender that runs out of budget, a coordinator
#     spawned and never run whose worker holds one unread message of two sent, and a sleeper
#     whose model call is in flight when the process stops (recovery has work to do);
#  3. pg_dump --inserts (plain INSERTs, no COPY, so node-pg's simple query protocol can load it),
#     minus pg_dump's \restrict / \unrestrict lines (psql meta-commands carrying a random key);
#  4. loads that dump into a second database with psql and opens it with the OLD code
#     (recover: false) to record what it reads: every agent's state (= its replay), history
#     types, replays at earlier revisions, the reports (tree, budgets, cost by role, status
#     counts) and the event counts by type;
#  5. drops both databases and removes the worktree.
#
# The models: c53f705's offline model (latency 0) for every role but two: `spender` always hits
# max_tokens, and `sleeper`'s call never answers until the system closes.
#
# No PGlite tarball is made: dumpDataDir('gzip') of an EMPTY PGlite 0.5.16 store is already
# 4.5 MB (40 MB of data folder), far beyond a fixture's size. The test loads the SQL dump into
# PGlite instead, which covers the old schema on the embedded engine.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL to a Postgres server where this may create and drop databases}"
COMMIT=c53f705
ROOT=$(git rev-parse --show-toplevel)
OUT="$ROOT/tests/fixtures/stores"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cadre-oldstore-XXXXXX")
OLD="$WORK/cadre-$COMMIT"
GEN_DB="cadre_oldstore_gen_$$"
EXP_DB="cadre_oldstore_exp_$$"
db_url() { node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString())' "$DATABASE_URL" "$1"; }
cleanup() {
  psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $GEN_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $EXP_DB WITH (FORCE)" || true
  git -C "$ROOT" worktree remove --force "$OLD" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

git -C "$ROOT" worktree add --detach "$OLD" "$COMMIT"
(cd "$OLD" && npm ci --no-audit --no-fund)
TSX="$OLD/node_modules/.bin/tsx"

cat > "$OLD/oldStoreScenario.ts" <<'SCENARIO'
/**
 * Runs inside a checkout of cadre at c53f705 (imports its ./src). Two modes:
 *   generate <store.json> <scenario.json>  writes the scenario into a fresh store and records
 *                                          the ids and run results in scenario.json
 *   expect   <store.json> <scenario.json>  opens a COPY of that store (recover: false) and
 *                                          prints what this version reads from it
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createAgentSystem, type AgentSystem } from './src/index.js';
import { createOfflineProvider } from './src/infra/model/offlineProvider.js';
import type { ModelProvider, ModelReply, ModelRequest } from './src/actors/ports/modelProvider.js';
import type { Reports } from './src/projections/index.js';
import { Aborted } from './src/errors.js';

const [mode, storeFile, scenarioFile] = process.argv.slice(2);
if (!mode || !storeFile || !scenarioFile) throw new Error('usage: scenario.ts generate|expect <store.json> <scenario.json>');
const store = JSON.parse(readFileSync(storeFile, 'utf8'));
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));

// The offline model for everyone except two roles: `spender` always hits max_tokens (its budget
// runs out), `sleeper`'s call never answers (the store is dumped with that call in flight).
const offline = createOfflineProvider({ latencyMs: 0 });
let sleeperCalled: () => void = () => undefined;
const sleeperCall = new Promise<void>((r) => (sleeperCalled = r));
const model: ModelProvider = {
  name: 'offline',
  isLLM: false,
  defaultModel: offline.defaultModel,
  estimateInputTokens: (r) => offline.estimateInputTokens(r),
  complete(req: ModelRequest, opts = {}): Promise<ModelReply> {
    const role = req.agent?.role;
    if (role === 'spender') {
      return Promise.resolve({ model: 'scripted', content: [{ type: 'text', text: `thinking ${req.messages.length}` }], stopReason: 'max_tokens', usage: { inputTokens: Math.floor(req.maxTokens / 2), outputTokens: req.maxTokens, cacheReadTokens: 0, cacheCreationTokens: 0 } });
    }
    if (role === 'sleeper') {
      sleeperCalled();
      return new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Aborted('closed with the call in flight'))));
    }
    return offline.complete(req, opts);
  },
};

const open = (recover: boolean): Promise<AgentSystem> => createAgentSystem({ store, model, env: {}, recover, maxTokensPerCall: 1024 });

async function generate(): Promise<void> {
  const system = await open(true);
  const reports = system.extensions.reports as Reports;
  const workflows = system.extensions.workflows as { spawnWorkflow(o: { templateId: string; task: string; budget: number }): Promise<{ id: string; run(): Promise<unknown> }> };
  const runs: Record<string, unknown> = {};

  const wf = await workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify() helper', budget: 60_000 });
  runs.workflow = await wf.run();

  const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 40_000 });
  const a = await lead.spawn({ role: 'a', task: 'part a', budget: 10_000 });
  await a.spawn({ role: 'a1', task: 'detail', budget: 3_000 });
  const b = await lead.spawn({ role: 'b', task: 'part b', budget: 8_000 });
  await b.spawn({ role: 'b1', task: 'doomed', budget: 2_000 });
  await lead.fire(b.id, 'not needed');
  runs.lead = await lead.run();

  const spender = await system.spawn({ role: 'spender', task: 'spend it all', budget: 5_000 });
  runs.spender = await spender.run();

  // Left live: a root spawned and never run, with a child holding one unread message.
  const coordinator = await system.spawn({ role: 'coordinator', task: 'hand out work', budget: 20_000 });
  const worker = await coordinator.spawn({ role: 'worker', task: 'wait for instructions', budget: 5_000 });
  await coordinator.sendMessage(worker.id, { text: 'low priority note' }, { priority: 1 });
  await coordinator.sendMessage(worker.id, { text: 'urgent: start now' }, { priority: 9 });
  const got = (await worker.receiveMessages({ max: 1 })) as Array<{ messageId: string; payload: unknown }>;
  await worker.ack(got.map((m) => m.messageId));
  runs.received = got.map((m) => m.payload);

  await reports.waitFor(await system.store.headPosition());

  // Left live: a root whose model call is in flight when the process stops.
  const sleeper = await system.spawn({ role: 'sleeper', task: 'think slowly', budget: 6_000 });
  void sleeper.run().catch(() => undefined);
  await sleeperCall;
  for (let i = 0; i < 100 && !(await system.history(sleeper.id)).some((e) => e.type === 'ModelRequested'); i++) await new Promise((r) => setTimeout(r, 20));
  await system.close();

  const roots = { workflow: wf.id, lead: lead.id, spender: spender.id, coordinator: coordinator.id, sleeper: sleeper.id };
  writeFileSync(scenarioFile!, `${JSON.stringify({ roots, ids: { a: a.id, b: b.id, worker: worker.id }, runs: json(runs) }, null, 2)}\n`);
}

async function expected(): Promise<void> {
  const scenario = JSON.parse(readFileSync(scenarioFile!, 'utf8')) as { roots: Record<string, string>; ids: Record<string, string>; runs: unknown };
  const system = await open(false);
  const reports = system.extensions.reports as Reports;
  try {
    const agents: unknown[] = [];
    const replayAt: unknown[] = [];
    const tree: Record<string, unknown> = {};
    const budgetSubtree: Record<string, unknown> = {};
    const costByRole: Record<string, unknown> = {};
    const budget: Record<string, unknown> = {};
    await reports.waitFor(await system.store.headPosition(), 20_000);
    for (const [name, rootId] of Object.entries(scenario.roots)) {
      const ids = [rootId];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const state = await system.get(id).state();
        const replayed = await system.replay(id);
        if (!isDeepStrictEqual(json(state), json(replayed))) throw new Error(`state and replay differ for ${id}`);
        const history = await system.history(id);
        agents.push({ name, id, role: state.role, status: state.status, budget: json(state.budget), state: json(state), history: { count: history.length, types: history.map((e) => e.type) } });
        ids.push(...state.children.map((c) => c.id));
        budget[id] = json(await reports.budget(id));
        if (id === rootId && history.length > 2) {
          for (const rev of [0, Math.floor(history.length / 2)]) replayAt.push({ id, revision: rev, state: json(await system.replay(id, { toRevision: rev })) });
        }
      }
      tree[rootId] = json(await reports.tree(rootId));
      budgetSubtree[rootId] = json(await reports.budget(rootId, { subtree: true }));
      costByRole[rootId] = json(await reports.costByRole(rootId));
    }
    const { rows } = await system.sql.query<{ type: string; n: string }>(`SELECT type, count(*)::text AS n FROM ${system.schema}.events GROUP BY type ORDER BY type`);
    const eventCounts = Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
    const out = {
      recordedWith: { commit: 'c53f705', store: store.kind, schema: system.schema },
      scenario,
      headPosition: (await system.store.headPosition()).toString(),
      eventCounts,
      totalEvents: Object.values(eventCounts).reduce((s, n) => s + n, 0),
      agents,
      replayAt,
      reports: { tree, budget, budgetSubtree, costByRole, statusCounts: json(await reports.statusCounts()) },
      // What the worker still has to read (this copy's lease on it is thrown away with the copy).
      pendingMessages: ((await system.get(scenario.ids.worker!).receiveMessages({ max: 10 })) as Array<{ payload: unknown }>).map((m) => m.payload),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await system.close();
  }
}

await (mode === "generate" ? generate() : expected());
// A run still waiting on the sleeper keeps a timer going: this process is done.
process.exit(0);
SCENARIO

mkdir -p "$WORK/run" "$OUT"
psql -q "$DATABASE_URL" -c "CREATE DATABASE $GEN_DB" -c "CREATE DATABASE $EXP_DB"
printf '{"kind":"postgres","connectionString":"%s"}\n' "$(db_url "$GEN_DB")" > "$WORK/store-gen.json"
printf '{"kind":"postgres","connectionString":"%s"}\n' "$(db_url "$EXP_DB")" > "$WORK/store-exp.json"

(cd "$WORK/run" && "$TSX" "$OLD/oldStoreScenario.ts" generate "$WORK/store-gen.json" "$WORK/scenario.json")
pg_dump --inserts --no-owner --no-privileges "$(db_url "$GEN_DB")" | sed -e '/^\\restrict /d' -e '/^\\unrestrict /d' > "$OUT/$COMMIT.sql"
psql -q -v ON_ERROR_STOP=1 "$(db_url "$EXP_DB")" -f "$OUT/$COMMIT.sql" > /dev/null
(cd "$WORK/run" && "$TSX" "$OLD/oldStoreScenario.ts" expect "$WORK/store-exp.json" "$WORK/scenario.json") > "$OUT/$COMMIT.expected.json"
ls -l "$OUT/$COMMIT.sql" "$OUT/$COMMIT.expected.json"
