/**
 * The repository's documents and comments point only at what a user of the repository
 * has: no document outside it (the working notes that lived next to the checkout, cited
 * by their file names or through `../shared/`), and every path
 * README.md and ARCHITECTURE.md name in backticks exists. Public sources are cited by
 * URL instead (e.g. Zoom's developer documentation).
 *
 * Files are those git knows (tracked, plus new ones not ignored), so the check runs on
 * what is committed, not on local leftovers such as data/ or bench/tmp/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
/** The file names of those notes, assembled so that this file does not cite them itself. */
const OUTSIDE_NOTES = new RegExp(`\\b(?:${['ZOOM', 'DESIGN', 'TOOLCHAIN', 'STYLE'].join('|')})\\.md\\b`, 'g');
const SELF = relative(ROOT, __filename).split(sep).join('/');

/** Generated records that quote what they checked, not documents anyone follows. */
const GENERATED = [/^bench\/results\//, /^tests\/reliability\/REPORT\.md$/];

function repositoryFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  // --cached lists a file deleted in the working tree too: only what is there counts.
  return [...new Set(listed.split('\0').filter(Boolean))].filter((file) => existsSync(join(ROOT, file)) && statSync(join(ROOT, file)).isFile());
}

const FILES = repositoryFiles();
const FILE_SET = new Set(FILES);
const DIR_SET = new Set(FILES.flatMap((file) => file.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

/** Text of a file, or undefined for binary content. */
function textOf(file: string): string | undefined {
  const bytes = readFileSync(join(ROOT, file));
  if (bytes.includes(0)) return undefined;
  return bytes.toString('utf8');
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Whether a repository-relative path names a file or folder (a module path may omit its extension). */
function exists(path: string): boolean {
  const clean = path.replace(/\/+$/, '');
  if (path.endsWith('/')) return DIR_SET.has(clean);
  return FILE_SET.has(clean) || DIR_SET.has(clean) || ['.ts', '.js', '.json', '/index.ts'].some((ext) => FILE_SET.has(clean + ext));
}

const scanned = FILES.filter((file) => file !== SELF && !GENERATED.some((pattern) => pattern.test(file)));

describe('no reference to a document outside the repository', () => {
  it('scans the repository (git lists its files)', () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(FILE_SET.has('README.md')).toBe(true);
  });

  it('names none of the working notes that are not part of it', () => {
    const found: string[] = [];
    for (const file of scanned) {
      const text = textOf(file);
      if (text === undefined) continue;
      for (const match of text.matchAll(OUTSIDE_NOTES)) {
        found.push(`${file}:${lineOf(text, match.index)}: ${match[0]}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('points through ../shared/ only at the repository\'s own shared/ folder', () => {
    // `../shared/` from a file must land on shared/ of this repository (an import such as
    // '../../shared/events' does); one that climbs out of it, or names something shared/
    // does not hold (a document), points at files a user does not have.
    const found: string[] = [];
    let references = 0;
    for (const file of scanned) {
      const text = textOf(file);
      if (text === undefined) continue;
      for (const match of text.matchAll(/(?:\.\.\/)+shared\/[\w./-]*/g)) {
        references++;
        const target = posix.normalize(posix.join(posix.dirname(file), match[0].replace(/[.]+$/, '')));
        const inside = !target.startsWith('../') && target !== '..';
        if (!inside || !exists(target)) found.push(`${file}:${lineOf(text, match.index)}: ${match[0]}${inside ? ` (${target} does not exist)` : ' (outside the repository)'}`);
      }
    }
    expect(references).toBeGreaterThan(50); // the imports: proves the pattern matches at all
    expect(found).toEqual([]);
  });

  it('links, in every Markdown document, only to files inside the repository that exist', () => {
    const found: string[] = [];
    let links = 0;
    for (const file of scanned.filter((f) => f.endsWith('.md'))) {
      const text = withoutFencedCode(readFileSync(join(ROOT, file), 'utf8'));
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue; // a URL, or an anchor in the same document
        links++;
        const target = posix.normalize(posix.join(posix.dirname(file), href.replace(/#.*$/, '')));
        if (target.startsWith('../') || !exists(target)) found.push(`${file}:${lineOf(text, match.index)}: ${href}`);
      }
    }
    expect(links).toBeGreaterThan(5);
    expect(found).toEqual([]);
  });
});

/** Fenced code blocks hold commands and sample output, not references; blank them (keeping line numbers). */
function withoutFencedCode(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

const PATH_ROOTS = ['services', 'host', 'tools', 'shared', 'infrastructure', 'tests', 'bench'];
const PATH_SPAN = new RegExp(`^(?:${PATH_ROOTS.join('|')})/[^\\s]*$`);

/** Repository paths written in backticks (`host/bus/event-pattern.ts`, `shared/ports/`), outside fenced code. */
function backtickPaths(markdown: string): { path: string; line: number }[] {
  const text = withoutFencedCode(markdown);
  const paths: { path: string; line: number }[] = [];
  for (const match of text.matchAll(/`([^`\n]+)`/g)) {
    const span = match[1]!.trim();
    if (!PATH_SPAN.test(span)) continue;
    paths.push({ path: span.replace(/#.*$/, '').replace(/:\d+$/, ''), line: lineOf(text, match.index) });
  }
  return paths;
}

/**
 * Whether a documented path exists. A path with a placeholder — `*`, `<…>`, `{…}`, or an
 * upper-case name such as `NAME.json` — exists when some file or folder matches it.
 */
function documentedPathExists(path: string): boolean {
  if (exists(path)) return true;
  const segments = path.replace(/\/+$/, '').split('/');
  const isPlaceholder = (segment: string) => /[*<>{}…]/.test(segment) || /^[A-Z][A-Z0-9_]*(\.\w+)?$/.test(segment);
  if (!segments.some(isPlaceholder)) return false;
  const pattern = new RegExp(
    `^${segments
      .map((segment) => {
        if (/^[A-Z][A-Z0-9_]*\.\w+$/.test(segment)) return `[^/]+\\.${segment.split('.').pop()!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
        if (/^[A-Z][A-Z0-9_]*$/.test(segment)) return '[^/]+';
        return segment
          .split(/(\*|<[^>]*>|\{[^}]*\}|…)/)
          .map((piece, i) => (i % 2 === 1 ? '[^/]*' : piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('');
      })
      .join('/')}(?:/.*)?$`,
  );
  return FILES.some((file) => pattern.test(file));
}

describe.each([
  ['README.md', 25],
  ['ARCHITECTURE.md', 80],
])('paths named in %s', (document, atLeast) => {
  const paths = backtickPaths(readFileSync(join(ROOT, document), 'utf8'));

  it(`finds at least ${atLeast} of them (the extraction works)`, () => {
    expect(paths.length).toBeGreaterThanOrEqual(atLeast);
  });

  it('all exist in the repository', () => {
    const missing = paths.filter(({ path }) => !documentedPathExists(path)).map(({ path, line }) => `${document}:${line}: ${path}`);
    expect(missing).toEqual([]);
  });
});

describe('the path extraction itself', () => {
  it('takes repository paths in backticks, outside fenced code, and nothing else', () => {
    const sample = ['See `host/bus/event-pattern.ts` and `shared/ports/`, not `npm test` or `DATA_DIR/bus.sqlite`.', '```', 'services/not-a-reference.ts', '`tests/inside-a-fence.ts`', '```', '`tests/fixtures/zoom/NAME.json`'].join('\n');
    expect(backtickPaths(sample)).toEqual([
      { path: 'host/bus/event-pattern.ts', line: 1 },
      { path: 'shared/ports/', line: 1 },
      { path: 'tests/fixtures/zoom/NAME.json', line: 6 },
    ]);
  });

  it('tells existing paths, placeholders and stale paths apart', () => {
    expect(documentedPathExists('host/bus/event-pattern.ts')).toBe(true);
    expect(documentedPathExists('shared/ports/')).toBe(true);
    expect(documentedPathExists('services/*/handler.ts')).toBe(true);
    expect(documentedPathExists('tests/fixtures/zoom/NAME.json')).toBe(true);
    expect(documentedPathExists('services/runtime/event-pattern.ts')).toBe(false);
    expect(documentedPathExists('services/cli/')).toBe(false);
    expect(documentedPathExists('shared/ports/archive-store.ts/')).toBe(false);
  });
});
