/** The page around every view: header with search, the live-update marker, and the one stylesheet and script (served by the process itself). */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageContext {
  /** What this dashboard reads, e.g. "this machine (./data)" or "DynamoDB: audit, ledger". */
  where: string;
  /** Changes when the data may have changed; the script compares it after a live update. */
  version: string;
  /** Shown above the content once (after Retry). */
  notice?: { kind: 'ok' | 'problem'; text: string };
  /** Pre-filled search. */
  query?: string;
}

export function page(title: string, context: PageContext, content: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · zoom-archiver</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">zoom-archiver</a>
  <span class="where">${context.where}</span>
  <form class="search" action="/search" method="get" role="search">
    <input type="search" name="q" value="${context.query ?? ''}" placeholder="Topic, meeting id or UUID" aria-label="Search recordings by topic, meeting id or meeting UUID">
    <button type="submit">Search</button>
  </form>
  <span id="live" class="live" data-state="off" aria-live="polite">live updates off</span>
</header>
<main id="content" data-version="${context.version}">
${context.notice ? html`<p class="notice ${context.notice.kind}" role="status">${context.notice.text}</p>` : ''}
${content}
</main>
<footer class="foot">Times are UTC. Read-only view of the audit trail and the upload ledger; Retry re-drives a file through the ledger (an uploaded file is never sent twice).</footer>
</body>
</html>`;
}
