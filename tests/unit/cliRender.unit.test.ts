import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderFields, renderTable } from '../../src/cli/render/table.js';
import { budgetBar, createStyle, shortId, tokens, usd } from '../../src/cli/render/style.js';
import { renderAgentTree } from '../../src/cli/render/agentTreeView.js';
import { LiveTree } from '../../src/cli/render/liveTree.js';
import { SpawnConfigSchema } from '../../src/actors/spawnConfig.js';
import type { AgentNode } from '../../src/dashboard/agentTree.js';
import type { Output } from '../../src/cli/output.js';
import { toJson } from '../../src/cli/output.js';
import { terminalSafe } from '../../src/cli/render/terminalSafe.js';
import { OWN_ESC, ownSgr } from '../../src/cli/render/ownEscape.js';
import { summaryLine } from '../../src/cli/runLive.js';
import { templateStages } from '../../src/cli/render/templateStages.js';
import { patternRedactor } from '../../src/infra/redact.js';
import { tokenMatches } from '../../src/dashboard/auth.js';
import { isLoopbackHost } from '../../src/infra/isLoopbackHost.js';

const node = (id: string, role: string, status: AgentNode['status'], children: AgentNode[] = [], used = 0, allocated = 1000, activity: string | null = null): AgentNode => ({
  id, role, kind: 'agent', task: '', status, activity, parentId: null, depth: 0, revision: 3,
  budget: { allocated, consumed: used, reserved: 0, delegated: 0, spentBySubtree: 0, reclaimed: 0, available: allocated - used, overspent: 0 },
  returned: null, costUsd: 0, subtreeCostUsd: 0.5, subtreeConsumed: used, nodeId: null, workspace: null, output: null, reason: null, children,
});

describe('cli renderers', () => {
  afterEach(() => void vi.useRealTimers());

  it('keeps a role stored with a line break on its own line in the tree: no fake row under it', () => {
    const fake = 'helper\n└─ auditor  00000000…0000  completed';
    const text = renderAgentTree(node('r', 'lead', 'running', [node('c', fake, 'running')]), createStyle(false));
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toContain('└─ helper ⏎ └─ auditor  00000000…0000  completed');
  });

  it('refuses a role that is not one line, naming it', () => {
    for (const role of ['helper\n└─ auditor', 'a\rb', 'a\u0007b']) {
      const r = SpawnConfigSchema.safeParse({ role, task: 't', budget: 10 });
      expect(r.success, JSON.stringify(role)).toBe(false);
      expect(r.error?.issues[0]).toMatchObject({ path: ['role'], message: expect.stringMatching(/must be one line/) });
    }
    // Nor one holding what a terminal draws as nothing: `reviewerㅤ` looked like `reviewer` (an attacker's try).
    for (const role of ['a\u2066b', 'reviewer\u3164', 'kid\u115f', 'a\u200bb', 'x\u{E0041}', 'dev\ufe00\ufe01\ufe02']) {
      const r = SpawnConfigSchema.safeParse({ role, task: 't', budget: 10 });
      expect(r.success, JSON.stringify(role)).toBe(false);
      expect(r.error?.issues[0]).toMatchObject({ path: ['role'], message: expect.stringMatching(/must not hold invisible characters/) });
    }
    expect(SpawnConfigSchema.safeParse({ role: 'lead · 🧑‍💻 dev', task: 't', budget: 10 }).success).toBe(true);
  });

  it('aligns table columns, right-aligns numbers, and shows missing cells as -', () => {
    const t = renderTable([{ a: 'x', n: 5 }, { a: 'longer', n: 123 }], [{ header: 'NAME', value: (r) => r.a }, { header: 'N', value: (r) => r.n }, { header: 'NOTE', value: () => null }]);
    expect(t.split('\n')).toEqual(['NAME      N  NOTE', '──────  ───  ────', 'x         5  -', 'longer  123  -']);
    expect(renderFields([['a', 1], ['long', null]])).toBe('a     1\nlong  -');
  });

  it('draws budget bars, tokens, money and ids compactly', () => {
    expect(budgetBar(0, 100, 4)).toBe('░░░░   0%');
    expect(budgetBar(50, 100, 4)).toBe('██░░  50%');
    expect(budgetBar(200, 100, 4)).toBe('████ 100%');
    expect(budgetBar(5, 0, 2)).toBe('░░   0%');
    expect([tokens(999), tokens(1500), tokens(12_345), tokens(2_500_000)]).toEqual(['999', '1.5k', '12k', '2.5M']);
    expect([tokens(25_000_000), tokens(1_234_000_000), tokens(56_000_000_000), tokens(Number.MAX_SAFE_INTEGER)]).toEqual(['25M', '1.2G', '56G', '9,007T']);
    expect([usd(0), usd(0.001), usd(1.234), usd(0.012) + ' ' + usd(0.048), usd(123.456)]).toEqual(['$0', '$0.0010', '$1.2340', '$0.0120 $0.0480', '$123.46']);
    expect(shortId('019fd278-932e-4780-875a-e6aca71ee2be')).toBe('019fd278…e2be');
  });

  it('renders a tree with box-drawing branches and aligned columns', () => {
    const tree = node('r', 'lead', 'running', [node('a', 'implementer', 'completed', [], 500), node('b', 'tester', 'spawned')]);
    const lines = renderAgentTree(tree, createStyle(false), { bar: 4 }).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^├─ implementer {2}a {2}completed {2}██░░ {2}50% {2}500\/1\.0k {2}\$0\.5000$/);
    expect(lines[2]).toMatch(/^└─ tester/);
  });

  it('prints progress lines (no ANSI) when the output is not a terminal, once per status change', async () => {
    vi.useFakeTimers();
    const printed: string[] = [];
    const out: Output = { out: (t) => void printed.push(t), err: () => undefined, isTTY: false, columns: 80 };
    let status: AgentNode['status'] = 'running';
    const live = new LiveTree(out, createStyle(false), async () => node('r', 'lead', status), { intervalMs: 5 });
    live.start();
    await vi.advanceTimersByTimeAsync(30); // six ticks of 5 ms, all while running
    status = 'completed';
    await live.stop();
    expect(printed.filter((l) => l.includes('running'))).toHaveLength(1);
    expect(printed.filter((l) => l.includes('completed'))).toHaveLength(1);
    expect(printed.join('')).not.toContain(`${OWN_ESC}[`);
  });

  it('redraws in place with ANSI on a terminal', async () => {
    vi.useFakeTimers();
    const printed: string[] = [];
    const out: Output = { out: (t) => void printed.push(t), err: () => undefined, isTTY: true, columns: 80 };
    const live = new LiveTree(out, createStyle(false), async () => node('r', 'lead', 'running'), { intervalMs: 5 });
    live.start();
    await vi.advanceTimersByTimeAsync(30);
    await live.stop();
    expect(printed.length).toBeGreaterThan(1);
    expect(terminalSafe(printed[1]!).startsWith('\x1b[2A\x1b[0J')).toBe(true);
  });

  it('with the tree\'s events, draws soon after each change and otherwise only on the slow timer', async () => {
    vi.useFakeTimers();
    let reads = 0;
    let wake: (() => void) | null = null;
    let ended = false;
    // An event source the test pushes changes into, one at a time.
    const changes: AsyncIterable<unknown> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<unknown>>((resolve) => (wake = () => resolve(ended ? { done: true, value: undefined } : { done: false, value: {} }))),
      }),
    };
    const push = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const out: Output = { out: () => undefined, err: () => undefined, isTTY: true, columns: 80 };
    const live = new LiveTree(out, createStyle(false), async () => (reads++, node('r', 'lead', 'running')), { intervalMs: 10, idleIntervalMs: 1000, changes });
    live.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(reads).toBe(1); // the first frame only: nothing changed, the slow timer is not due
    push();
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toBe(2); // a change, long after the last frame: drawn at once
    push();
    push(); // the second is not listened for yet: one frame
    await vi.advanceTimersByTimeAsync(5);
    expect(reads).toBe(2); // within intervalMs of the last frame: waits
    await vi.advanceTimersByTimeAsync(10);
    expect(reads).toBe(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(reads).toBe(4); // the slow timer (1 s after start)
    ended = true;
    push();
    await live.stop();
    expect(reads).toBe(5); // the final frame
  });

  it('says what a running agent is doing (a model call is not "waiting"), on a terminal and in progress lines', async () => {
    vi.useFakeTimers();
    const tree = node('r', 'lead', 'waiting', [node('a', 'dev', 'waiting', [], 0, 1000, 'calling model')], 0, 1000, 'waiting for 1 child');
    expect(renderAgentTree(tree, createStyle(false), { bar: 4 })).toMatch(/^lead +r +waiting for 1 child .*\n└─ dev +a +calling model /);
    const printed: string[] = [];
    const out: Output = { out: (t) => void printed.push(t), err: () => undefined, isTTY: false, columns: 80 };
    let activity = 'calling model';
    const live = new LiveTree(out, createStyle(false), async () => node('r', 'lead', 'waiting', [], 0, 1000, activity), { intervalMs: 5 });
    live.start();
    await vi.advanceTimersByTimeAsync(20);
    activity = 'running tools';
    await vi.advanceTimersByTimeAsync(20);
    await live.stop();
    expect(printed.map((l) => l.replace(/^ *[0-9.]+s {2}/, ''))).toEqual(['lead r calling model  0/1.0k tokens', 'lead r running tools  0/1.0k tokens']);
  });

  it('on a narrow, short terminal every frame fits: lines cut to the width, the tree to the height, so cursor-up erases all of it', async () => {
    vi.useFakeTimers();
    const printed: string[] = [];
    const out: Output = { out: (t) => void printed.push(t), err: () => undefined, isTTY: true, columns: 30, rows: 6 };
    const kids = Array.from({ length: 8 }, (_, i) => node(`c${i}`, `a-rather-long-role-name-${i}`, 'running', [], 0, 1000, 'calling model'));
    const live = new LiveTree(out, createStyle(true), async () => node('r', 'lead', 'waiting', kids, 0, 1000, 'waiting for 8 children'), { intervalMs: 5 });
    live.start();
    await vi.advanceTimersByTimeAsync(12);
    await live.stop();
    // eslint-disable-next-line no-control-regex
    const visible = (s: string): string => terminalSafe(s).replace(/\x1b\[[0-9;]*[mAJ]/g, '');
    for (const frame of printed) {
      const lines = frame.split('\n');
      expect(lines.length).toBeLessThanOrEqual(5);
      for (const l of lines) expect([...visible(l)].length).toBeLessThanOrEqual(29);
    }
    expect(printed[0]).toContain('… and 6 more agents');
    expect(terminalSafe(printed[1]!).startsWith(`\x1b[${printed[0]!.split('\n').length}A\x1b[0J`)).toBe(true);
  });

  it('skips a tick while the last frame is still being read, instead of queueing reads behind it', async () => {
    vi.useFakeTimers();
    let reads = 0;
    const out: Output = { out: () => undefined, err: () => undefined, isTTY: false, columns: 80 };
    const live = new LiveTree(out, createStyle(false), async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 50)); // a slow read: ten ticks long
      return node('r', 'lead', 'running');
    }, { intervalMs: 5 });
    live.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(reads).toBeLessThanOrEqual(3);
    const stopping = live.stop();
    await vi.advanceTimersByTimeAsync(200);
    await stopping;
  });

  it('cuts a line to a width, colour codes kept and not counted', async () => {
    const { fitWidth } = await import('../../src/cli/render/fitWidth.js');
    expect(fitWidth(`${ownSgr('2')}abcdef${ownSgr('0')}`, 4)).toBe(`${ownSgr('2')}abc…${ownSgr('0')}`);
    expect(fitWidth('abc', 3)).toBe('abc');
    expect(fitWidth(`ab${ownSgr('31')}cd${ownSgr('0')}ef`, 5)).toBe(`ab${ownSgr('31')}cd${ownSgr('0')}…`);
  });

  it('writes bigints as strings in JSON', () => {
    expect(JSON.parse(toJson({ revision: 3n }))).toEqual({ revision: '3' });
  });
});

describe('dashboard helpers', () => {
  it('redacts secrets: keys, connection-string passwords, API-key-shaped strings; keeps token counts', () => {
    const r = patternRedactor.value({ apiKey: 'abc', url: 'postgres://cadre:hunter2@db:5432/x', note: 'key sk-ant-api03-abcdefghijkl', usage: { inputTokens: 5 }, n: 1n });
    expect(r).toEqual({ apiKey: '[redacted]', url: 'postgres://cadre:***@db:5432/x', note: 'key [redacted]', usage: { inputTokens: 5 }, n: '1' });
  });

  it('knows loopback hosts and compares tokens exactly', () => {
    expect(['127.0.0.1', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches(null, 'abc')).toBe(false);
  });
});

describe('the run summary', () => {
  it('says why each failed or terminated agent ended, one line each', () => {
    const base = { rootId: 'r', output: null, agents: 3, tokens: 1200, costUsd: 0, seconds: 1.25, tree: node('r', 'lead', 'failed') };
    expect(summaryLine({ ...base, status: 'completed', failures: [] })).toBe('completed: 3 agents, 1.2k tokens, $0, 1.3 s');
    const text = summaryLine({ ...base, status: 'failed', failures: [
      { id: 'c1', role: 'dev', status: 'failed', reason: 'budget_exceeded: reported 20100 tokens,\nreserved 10000' },
      { id: 'c2', role: 'qa', status: 'terminated', reason: null },
    ] });
    expect(text.split('\n')).toEqual([
      'failed: 3 agents, 1.2k tokens, $0, 1.3 s',
      '  failed dev c1: budget_exceeded: reported 20100 tokens, reserved 10000',
      '  terminated qa c2: no reason recorded',
    ]);
    expect(summaryLine({ ...base, agents: 1, status: 'completed', failures: [] })).toMatch(/^completed: 1 agent,/);
  });
});


describe('templateStages', () => {
  it('puts nodes that run in parallel in one stage, in order of depth', () => {
    const n = (id: string, role: string, dependencies: string[] = []) => ({ id, role, dependencies });
    expect(templateStages([n('a', 'architect'), n('i', 'implementer', ['a']), n('t', 'tester', ['a']), n('r', 'reviewer', ['i', 't'])]))
      .toBe('architect → (implementer | tester) → reviewer');
    // Listed out of order, and a node two levels down beside a shorter chain.
    expect(templateStages([n('r', 'reviewer', ['x', 'a']), n('x', 'tester', ['a']), n('a', 'architect')])).toBe('architect → tester → reviewer');
    expect(templateStages([n('a', 'a'), n('b', 'b'), n('c', 'c')])).toBe('(a | b | c)');
    expect(templateStages([])).toBe('');
  });
});

describe('terminalSafe', () => {
  it("shows a model's escape sequences instead of obeying them, and keeps cadre's own", async () => {

    const hostile = 'DONE \u001b]0;PWNED-TITLE\u0007\u001b[2J\u001b[31mred\u001b]8;;http://evil/\u0007link\u001b]52;c;cHduZWQ=\u0007\r\u009b';
    const safe = terminalSafe(hostile);
    // eslint-disable-next-line no-control-regex
    expect(safe).not.toMatch(/\u001b\]|\u0007|\u001b\[2J|\r|\u009b/);
    expect(safe).toBe('DONE ␛]0;PWNED-TITLE␇␛[2J␛[31mred␛]8;;http://evil/␇link␛]52;c;cHduZWQ=␇␍<U+009B>');
    // Sequences that once passed as "harmless": cursor up and hidden text, from an agent's role.
    expect(terminalSafe('X\u001b[1AY\u001b[8mhidden\u001b[0m')).toBe('X␛[1AY␛[8mhidden␛[0m');
    // --json goes through it too, and must come out exact: every control character is escaped there.
    const value = { task: 'a\u0085b\u009b\u007fc\u001b]0;x\u0007 pay \u202e0001\u202c cents\u2028\u200b\ufeff\u00ad\u{E0041}\u034f\u3164\ufe00\ufe01 \u26a0\ufe0f' };
    expect(terminalSafe(toJson(value))).toBe(toJson(value));
    expect(JSON.parse(toJson(value))).toEqual(value);
    // Bidirectional controls cannot reorder what an approver reads: shown by name.
    expect(terminalSafe('pay \u202e0001\u202c cents to \u2067bob\u2069')).toBe('pay <U+202E>0001<U+202C> cents to <U+2067>bob<U+2069>');
    // Invisible separators, spaces and format characters (two attackers' tries hid text with
    // them: soft hyphen, tag characters carrying hidden ASCII, …); joiners stay (emoji, scripts).
    expect(terminalSafe('c\u2028LS d\u2029PS h\u200bZW \ufeffBOM w\u2060J')).toBe('c<U+2028>LS d<U+2029>PS h<U+200B>ZW <U+FEFF>BOM w<U+2060>J');
    expect(terminalSafe('sh\u00adY cg\u034fJ mv\u180eS an\ufff9A tag\u{E0041}\u{E0042} mu\u{1D173}s nel\u0085')).toBe('sh<U+00AD>Y cg<U+034F>J mv<U+180E>S an<U+FFF9>A tag<U+E0041><U+E0042> mu<U+1D173>s nel<U+0085>');
    expect(terminalSafe('\u{1F468}\u200d\u{1F469} \u0645\u200c\u06cc \u26a0\ufe0f \u{1F3F3}\ufe0f\u200d\u{1F308}')).toBe('\u{1F468}\u200d\u{1F469} \u0645\u200c\u06cc \u26a0\ufe0f \u{1F3F3}\ufe0f\u200d\u{1F308}');
    // Fillers, variation selectors and the braille blank: a run of selectors hid a whole sentence.
    expect(terminalSafe('ok\u3164\u115f\uffa0\u17b4 \u2800!')).toBe('ok<U+3164><U+115F><U+FFA0><U+17B4> <U+2800>!');
    expect(terminalSafe('All tests pass.\ufe00\ufe01\u{E0100}')).toBe('All tests pass.<U+FE00><U+FE01><U+E0100>');
    expect(terminalSafe('\ufe0fstart')).toBe('<U+FE0F>start');
    // cadre's own, written with this process's stand-in for ESC, come out as real sequences.
    const style = createStyle(true);
    expect(terminalSafe(`${style.bold('bold')}\n\t${OWN_ESC}[3A${OWN_ESC}[0Jtree`)).toBe('\u001b[1mbold\u001b[0m\n\t\u001b[3A\u001b[0Jtree');
    // A stand-in guessed wrong is only text.
    expect(terminalSafe('\ue000[1A')).toBe('\ue000[1A');
  });
});
