/**
 * Whether this code runs from the `serve` bundle (dist/, built by
 * tools/build/bundle-serve.js: esbuild defines ZOOM_ARCHIVER_BUNDLE there) or from the
 * TypeScript sources (tsx, ts-jest). In the bundle every module's `__dirname` is dist/,
 * so code that finds files next to its source asks here instead.
 */
import { join } from 'node:path';

declare const ZOOM_ARCHIVER_BUNDLE: boolean | undefined;

export const IN_BUNDLE: boolean = typeof ZOOM_ARCHIVER_BUNDLE !== 'undefined' && ZOOM_ARCHIVER_BUNDLE === true;

/** The repository's root: one level above host/ (this file) and above dist/ (the bundle) alike. */
export const PROJECT_ROOT = join(__dirname, '..');

/**
 * The program a worker thread starts: the bundled worker beside the bundle (dist/NAME.js),
 * or, from the sources, the plain-JavaScript entry that registers tsx (host/workers/ENTRY).
 */
export function workerProgram(bundled: string, sourceEntry: string): string {
  return IN_BUNDLE ? join(__dirname, `${bundled}.js`) : join(PROJECT_ROOT, 'host', 'workers', sourceEntry);
}
