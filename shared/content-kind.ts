/**
 * What the bytes of a Zoom file type should look like, which decides how a download
 * is checked (see DownloadOptions.expect in shared/ports/zoom-client.ts).
 */
import type { ContentKind } from './ports/zoom-client';

const MEDIA_FILE_TYPES = new Set(['MP4', 'M4A']);

/** MP4 and M4A are media; every other type (VTT, TXT, JSON, CSV) is a text document. */
export function contentKindOf(fileType: string): ContentKind {
  return MEDIA_FILE_TYPES.has(fileType.toUpperCase()) ? 'media' : 'text';
}
