import { constants } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { RE2JS } from 're2js';
import { InvalidInput, WorkspaceError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { globMatcher } from './globPattern.js';
import { makeFolders } from './makeFolders.js';
import { openInside } from './openInside.js';
import { walkWorkspace } from './walkWorkspace.js';
import { resolveExisting, resolveForWrite } from './safePath.js';

export interface FileContent {
  /** Workspace-relative, `/`-separated. */
  readonly path: string;
  readonly content: string;
  /** The file's full size. */
  readonly bytes: number;
  /** Only the first `maxBytes` were read. */
  readonly truncated: boolean;
}

export interface FileEntry {
  readonly path: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'other';
}

export interface SearchMatch {
  readonly path: string;
  /** 1-based line and column of the first match on the line. */
  readonly line: number;
  readonly column: number;
  /** The line, cut at 400 characters. */
  readonly text: string;
}

export interface SearchOptions {
  /** Treat `pattern` as an RE2 regular expression, matched in linear time (default: a literal string). */
  readonly regex?: boolean;
  readonly ignoreCase?: boolean;
  /** Only files whose relative path matches, e.g. `*.ts` or `src/**\/*.md`. */
  readonly glob?: string;
  /** Matches returned at most (default 100). */
  readonly limit?: number;
  /** Bigger files are skipped (default 1 MiB). */
  readonly maxFileBytes?: number;
}

/** File access for an agent's tools, confined to one worktree. */
export interface WorkspaceFiles {
  readonly root: string;
  read(path: string, options?: { maxBytes?: number }): Promise<FileContent>;
  write(path: string, content: string | Uint8Array): Promise<{ path: string; bytes: number }>;
  list(dir?: string, options?: { recursive?: boolean; limit?: number }): Promise<{ entries: FileEntry[]; truncated: boolean }>;
  search(pattern: string, options?: SearchOptions): Promise<{ matches: SearchMatch[]; truncated: boolean }>;
}

const Limit = z.number().int().positive().max(1_000_000);
const ReadOptions = z.object({ maxBytes: Limit.optional() }).strict();
const ListOptions = z.object({ recursive: z.boolean().optional(), limit: Limit.optional() }).strict();
const SearchOptionsSchema = z
  .object({
    regex: z.boolean().optional(),
    ignoreCase: z.boolean().optional(),
    glob: z.string().max(1000).optional(),
    limit: Limit.optional(),
    maxFileBytes: Limit.optional(),
  })
  .strict();

// O_NOFOLLOW: if a symlink appears at the final component between our check and the open,
// the open fails instead of writing through it. No O_TRUNC: openInside checks where the handle
// landed before the write truncates (a folder on the way may have become a link).
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const MAX_LINE = 400;

/**
 * File access confined to the worktree at `root`. Every path is resolved (`..`, symlinks,
 * the real path of the nearest existing folder for new files) and refused with
 * PathOutsideWorkspace, naming the path, if it lands outside the root or in `.git`; a NUL
 * byte is InvalidInput. Listing and search never follow symlinks or enter `.git`.
 *
 * @example
 * const files = createWorkspaceFiles(ws.path);
 * await files.write('src/hello.ts', 'export const hi = 1;\n');
 * const { content } = await files.read('src/hello.ts');
 * await files.read('../../etc/passwd'); // throws PathOutsideWorkspace
 */
export function createWorkspaceFiles(root: string): WorkspaceFiles {
  let rootReal: Promise<string> | undefined;
  const realRoot = (): Promise<string> =>
    (rootReal ??= realpath(root).catch((e: unknown) => {
      rootReal = undefined;
      throw new WorkspaceError(`workspace ${root} does not exist`, { cause: e });
    }));

  return {
    root,

    async read(path, options = {}) {
      const { maxBytes = 1024 * 1024 } = parseInput(ReadOptions, options, 'options');
      const rootPath = await realRoot();
      const target = await resolveExisting(rootPath, path);
      const handle = await openInside(rootPath, target, READ_FLAGS, path);
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new WorkspaceError(`${JSON.stringify(path)} is not a regular file`);
        const size = Math.min(st.size, maxBytes);
        const buf = Buffer.alloc(size);
        const { bytesRead } = await handle.read(buf, 0, size, 0);
        return { path: target.rel, content: buf.subarray(0, bytesRead).toString('utf8'), bytes: st.size, truncated: st.size > maxBytes };
      } finally {
        await handle.close();
      }
    },

    async write(path, content) {
      const rootPath = await realRoot();
      const target = await resolveForWrite(rootPath, path);
      await makeFolders(rootPath, dirname(target.real), path);
      // Re-check after creating folders: a symlink planted meanwhile must not redirect us.
      await resolveForWrite(rootPath, target.rel);
      const handle = await openInside(rootPath, target, WRITE_FLAGS, path);
      try {
        const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
        await handle.truncate(0);
        await handle.writeFile(data);
        return { path: target.rel, bytes: data.byteLength };
      } finally {
        await handle.close();
      }
    },

    async list(dir = '.', options = {}) {
      const { recursive = false, limit = 1000 } = parseInput(ListOptions, options, 'options');
      const rootPath = await realRoot();
      const start = await resolveExisting(rootPath, dir);
      const entries: FileEntry[] = [];
      let truncated = false;
      await walkWorkspace(start, recursive, (entry) => {
        if (entries.length >= limit) {
          truncated = true;
          return false;
        }
        entries.push(entry);
        return true;
      });
      return { entries, truncated };
    },

    async search(pattern, options = {}) {
      if (typeof pattern !== 'string' || pattern === '') throw new InvalidInput('pattern', 'expected a non-empty string');
      const opts = parseInput(SearchOptionsSchema, options, 'options');
      const matcher = await compile(pattern, opts.regex ?? false, opts.ignoreCase ?? false);
      const glob = opts.glob === undefined ? undefined : await globMatcher(opts.glob);
      const limit = opts.limit ?? 100;
      const maxFileBytes = opts.maxFileBytes ?? 1024 * 1024;
      const rootPath = await realRoot();
      const matches: SearchMatch[] = [];
      let truncated = false;
      const files: string[] = [];
      await walkWorkspace({ real: rootPath, rel: '' }, true, (e) => {
        if (e.type === 'file' && (!glob || glob.test(e.path))) files.push(e.path);
        return true;
      });
      for (const rel of files) {
        const text = await readText(rootPath, rel, maxFileBytes);
        if (text === undefined) continue;
        const lines = text.split('\n');
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!;
          const at = matcher(line);
          if (at < 0) continue;
          if (matches.length >= limit) {
            truncated = true;
            return { matches, truncated };
          }
          matches.push({ path: rel, line: i + 1, column: at + 1, text: line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line });
        }
      }
      return { matches, truncated };
    },
  };
}

/**
 * A line matcher returning the first match's index or -1. Regular expressions go to RE2 (re2js,
 * pure JavaScript): matching is linear in the line, so a model's `^(a+)+$` cannot hold the event
 * loop the way V8's backtracking engine did (16.5 s on 32 characters). Backreferences and
 * lookaround, which need backtracking, are refused as invalid.
 */
async function compile(pattern: string, regex: boolean, ignoreCase: boolean): Promise<(line: string) => number> {
  if (!regex) {
    const needle = ignoreCase ? pattern.toLowerCase() : pattern;
    return (line) => (ignoreCase ? line.toLowerCase() : line).indexOf(needle);
  }
  // Loaded on the first regex search, not with every process that opens a workspace.
  const { RE2JS: RE2 } = await import('re2js');
  let re: RE2JS;
  try {
    re = RE2.compile(pattern, ignoreCase ? RE2.CASE_INSENSITIVE : 0);
  } catch (e) {
    throw new InvalidInput('pattern', `${JSON.stringify(pattern.slice(0, 200))} is not a valid RE2 regular expression: ${(e as Error).message.slice(0, 200)}`);
  }
  return (line) => {
    const m = re.matcher(line);
    return m.find() ? m.start() : -1;
  };
}

/** A file's text, or undefined when it is too big or looks binary (a NUL in its first 8 KiB). */
async function readText(rootReal: string, rel: string, maxBytes: number): Promise<string | undefined> {
  let handle;
  try {
    handle = await openInside(rootReal, { real: join(rootReal, rel), rel }, READ_FLAGS, rel);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > maxBytes) return undefined;
    const buf = await handle.readFile();
    if (buf.subarray(0, 8192).includes(0)) return undefined;
    return buf.toString('utf8');
  } finally {
    await handle.close();
  }
}
