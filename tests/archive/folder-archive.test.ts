/**
 * The folder archive store in a temporary directory: the shared contract, plus what
 * only a folder shows — the hidden .partial file beside the target while a body
 * streams, keys as paths, names S3 allows but a folder cannot hold, a file already
 * under the name left in place (not even replaced by equal bytes), and bounded
 * read-ahead.
 */
import { mkdtemp, readdir, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { FolderArchiveStore, PARTIAL_SUFFIX } from '../../shared/adapters/archive-folder';
import { ConfigError } from '../../shared/errors';
import { ArchiveKeyConflictError, ArchiveWriteError } from '../../shared/ports/archive-store';
import { waitFor } from '../support/wait-for';
import { KiB, MiB, SAMPLE_METADATA, describeArchiveStoreContract } from './archive-contract';
import { generatedBody, generatedSha256, sha256Of } from './generated-bytes';

let root: string;
let store: FolderArchiveStore;

/** Every file under `directory`, as '/'-separated paths relative to the root. */
async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function listKeys(prefix: string): Promise<string[]> {
  return (await filesUnder(path.join(root, ...prefix.split('/')))).filter((file) => !file.endsWith(PARTIAL_SUFFIX));
}

async function leftovers(): Promise<string[]> {
  return (await filesUnder(root)).filter((file) => file.endsWith(PARTIAL_SUFFIX));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'zoom-archiver-folder-'));
  store = new FolderArchiveStore({ root });
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('FolderArchiveStore: the archive store contract', () => {
  describeArchiveStoreContract(() => ({ store, listKeys, leftovers }), { exclusiveCreate: true });
});

describe('FolderArchiveStore: on disk', () => {
  test('while the body streams only a hidden .partial exists beside the target; the final name appears whole', async () => {
    const key = 'disk/streaming/recording.mp4';
    const directory = path.join(root, 'disk', 'streaming');
    const body = new PassThrough();
    const first = Buffer.alloc(1 * MiB, 1);
    const rest = Buffer.alloc(2 * MiB, 2);
    body.write(first);

    const put = store.put({ key, body, contentLength: first.length + rest.length, metadata: SAMPLE_METADATA });
    const partial = await waitFor(
      'the first MiB in the .partial file',
      async () => {
        const names = await readdir(directory).catch(() => []);
        const name = names.find((n) => n.endsWith(PARTIAL_SUFFIX));
        return name && (await stat(path.join(directory, name))).size === first.length ? name : undefined;
      },
      5_000,
      { intervalMs: 10 },
    );

    expect(partial).toMatch(/^\.recording\.mp4\.[0-9a-f]{12}\.partial$/);
    expect(await readdir(directory)).toEqual([partial]);
    expect(await store.head(key)).toBeUndefined();

    body.end(rest);
    await put;

    expect(await readdir(directory)).toEqual(['recording.mp4']);
    const whole = Buffer.concat([first, rest]);
    expect(await sha256Of(await store.get(key))).toEqual(await sha256Of([whole]));
  });

  test('a key maps to the same relative path under the root, and describe says where', async () => {
    const key = 'disk/a course/ü 1.mp4';

    const { location } = await store.put({ key, body: generatedBody({ size: 5, seed: 'p' }), metadata: {} });

    const file = path.join(root, 'disk', 'a course', 'ü 1.mp4');
    expect(location).toEqual({ kind: 'folder', container: root, key, uri: pathToFileURL(file).href });
    expect((await stat(file)).size).toBe(5);
  });

  test('the root folder is created on the first put', async () => {
    const fresh = new FolderArchiveStore({ root: path.join(root, 'not', 'yet', 'there') });

    await fresh.put({ key: 'a/b.mp4', body: generatedBody({ size: 3, seed: 'r' }), metadata: {} });

    expect((await stat(path.join(root, 'not', 'yet', 'there', 'a', 'b.mp4'))).size).toBe(3);
  });

  test('a 250-byte file name is stored (the temporary name is shortened to fit)', async () => {
    const name = `${'é'.repeat(123)}.mp4`;
    expect(Buffer.byteLength(name)).toBe(250);
    const key = `disk/long/${name}`;

    await store.put({ key, body: generatedBody({ size: 2 * KiB, seed: name }), metadata: {} });

    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(2 * KiB, name), size: 2 * KiB });
  });

  test.each([
    ['under an existing file', 'disk/conflict/file.mp4/child.mp4'],
    ['naming an existing folder', 'disk/conflict/folder'],
  ])('a key %s fails for good and leaves nothing behind', async (_label, key) => {
    await writeFile(path.join(await mkdirp(root, 'disk', 'conflict'), 'file.mp4'), 'older');
    await mkdirp(root, 'disk', 'conflict', 'folder', 'inside');

    const error: unknown = await store.put({ key, body: generatedBody({ size: 1 * KiB, seed: 'c' }), metadata: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveWriteError);
    expect(error).toMatchObject({ origin: 'store', retryable: false });
    expect(await leftovers()).toEqual([]);
    expect(await store.head(key)).toBeUndefined();
  });

  test.each([
    ['other bytes', Buffer.from('a lesson recorded last week'), Buffer.from('another lesson, same name'), 'conflict'],
    ['the same bytes', Buffer.from('a lesson recorded last week'), Buffer.from('a lesson recorded last week'), 'archived'],
  ])('a file already under the name (%s) is never replaced: the same inode, the same bytes', async (label, existing, incoming, verdict) => {
    const key = `disk/taken/${label.replace(/ /g, '-')}.mp4`;
    const file = path.join(await mkdirp(root, 'disk', 'taken'), path.basename(key));
    await writeFile(file, existing);
    const before = await stat(file);

    const outcome = await store.put({ key, body: Readable.from([incoming]), metadata: {} }).then(
      (result) => result,
      (error: unknown) => error,
    );

    expect(outcome).toEqual(verdict === 'conflict' ? expect.any(ArchiveKeyConflictError) : { location: store.describe(key), size: incoming.length });
    const after = await stat(file);
    expect([after.ino, after.nlink]).toEqual([before.ino, 1]);
    expect(await sha256Of(await store.get(key))).toEqual(await sha256Of([existing]));
    expect(await leftovers()).toEqual([]);
  });

  test('refuses to be built without a root', () => {
    expect(() => new FolderArchiveStore({ root: '' })).toThrow(ConfigError);
  });
});

describe('FolderArchiveStore: bounded memory, in spirit', () => {
  test('read-ahead of the body stays within 1 MiB of what is on disk', async () => {
    const key = 'memory/twenty.mp4';
    const directory = path.join(root, 'memory');
    const size = 20 * MiB;
    let largestLead = 0;
    const onDisk = () => {
      const partial = readdirSync(directory).find((name) => name.endsWith(PARTIAL_SUFFIX));
      return partial ? statSync(path.join(directory, partial)).size : 0;
    };
    await mkdirp(root, 'memory');
    const body = generatedBody({
      size,
      seed: 'bounded',
      onProduce: (produced) => {
        largestLead = Math.max(largestLead, produced - onDisk());
      },
    });

    await store.put({ key, body, contentLength: size, metadata: {} });

    expect(largestLead).toBeLessThanOrEqual(1 * MiB);
    expect(await sha256Of(await store.get(key))).toEqual({ sha256: generatedSha256(size, 'bounded'), size });
  });
});

async function mkdirp(...segments: string[]): Promise<string> {
  const directory = path.join(...segments);
  await mkdir(directory, { recursive: true });
  return directory;
}

describe('FolderArchiveStore after a crashed writer', () => {
  it("removes a dead writer's partial file of the same key once a put commits, and keeps others", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'partials-'));
    try {
      const store = new FolderArchiveStore({ root });
      const folder = path.join(root, 'courses', 'X');
      await mkdir(folder, { recursive: true });
      const past = new Date(Date.now() - 60_000);
      for (const [name, content] of [['.lesson.mp4.abcdef012345.partial', 'half a video'], ['.other.mp4.abcdef012345.partial', 'another file']]) {
        await writeFile(path.join(folder, name!), content!);
        await utimes(path.join(folder, name!), past, past);
      }

      await store.put({ key: 'courses/X/lesson.mp4', body: Readable.from([Buffer.from('the whole video')]), metadata: {} });

      expect((await readdir(folder)).sort()).toEqual(['.other.mp4.abcdef012345.partial', 'lesson.mp4']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
