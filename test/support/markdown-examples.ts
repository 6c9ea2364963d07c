import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The fenced code blocks of a Markdown document, with the `<!-- example: ... -->` marker written
 * just before each (the convention is described in the README's "Examples" section). The
 * README test runs them in order; this file only reads them.
 */

export type Marker =
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'variables' }
  | { readonly kind: 'answer' }
  | { readonly kind: 'save'; readonly name: string; readonly path: string }
  | { readonly kind: 'excerpt'; readonly file: string };

export interface ExampleBlock {
  /** `README.md:84`: the file and the line of the opening fence, for test names and failures. */
  readonly where: string;
  /** The info string's first word (`graphql`, `sh`, `json`...), '' for an unlabeled fence. */
  readonly lang: string;
  readonly text: string;
  readonly marker?: Marker;
}

const FENCE = /^(\s*)```(\S*)[^`]*$/;
const MARKER = /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/;

function parseMarker(body: string, where: string): Marker {
  const skip = /^skip:\s*(.+)$/.exec(body);
  if (skip) return { kind: 'skip', reason: skip[1]! };
  if (body === 'variables' || body === 'answer') return { kind: body };
  const save = /^save\s+(.+?)=(\S+)$/.exec(body);
  if (save) return { kind: 'save', name: save[1]!.trim(), path: save[2]! };
  const excerpt = /^excerpt of\s+(\S+)$/.exec(body);
  if (excerpt) return { kind: 'excerpt', file: excerpt[1]! };
  throw new Error(`${where}: unknown example marker "${body}"`);
}

/** Reads the blocks of `file` (relative to `root`) in document order. */
export function readExampleBlocks(root: string, file: string): ExampleBlock[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  const blocks: ExampleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const where = `${file}:${i + 1}`;
    let previous = i - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous--;
    const markerText = previous >= 0 ? MARKER.exec(lines[previous]!) : null;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) body.push(lines[j++]!.slice(indent));
    if (j === lines.length) throw new Error(`${where}: the fence is never closed`);
    blocks.push({ where, lang: open[2]!, text: body.join('\n'), ...(markerText ? { marker: parseMarker(markerText[1]!, where) } : {}) });
    i = j;
  }
  return blocks;
}

/**
 * Whether every non-empty line of `excerpt` appears, trimmed and in order, among the lines of
 * `source`. A line starting `// ...` stands for code left out of the excerpt.
 */
export function isExcerptOf(excerpt: string, source: string): { ok: true } | { ok: false; missing: string } {
  const sourceLines = source.split('\n').map((line) => line.trim());
  let from = 0;
  for (const line of excerpt.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('// ...')) continue;
    const at = sourceLines.indexOf(line, from);
    if (at < 0) return { ok: false, missing: line };
    from = at + 1;
  }
  return { ok: true };
}

/** The value at a dotted path (`anomalies.edges.0.node.id`), or undefined. */
export function valueAt(value: unknown, dotted: string): unknown {
  let current = value;
  for (const key of dotted.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
