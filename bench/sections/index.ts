/**
 * The report's sections, in the order they appear. To add one, write a module in this
 * folder exporting `async function run(ctx: BenchContext): Promise<string>` (Markdown
 * that starts with its own `## ` heading), import it and list it here. Modules do
 * their work in run(), never at import.
 */
import type { BenchSection } from '../section';
import * as backfill from './backfill';
import * as bundles from './bundles';
import * as dashboard from './dashboard';
import * as scale from './scale';
import * as serveLoad from './serve-load';
import * as startup from './startup';
import * as transfer from './transfer';
import * as transferBreakdown from './transfer-breakdown';
import * as transferTuning from './transfer-tuning';
import * as webhookHandler from './webhook-handler';

export const SECTIONS: readonly BenchSection[] = [
  { id: 'webhook-handler', run: webhookHandler.run },
  { id: 'startup', run: startup.run },
  { id: 'serve-load', run: serveLoad.run },
  { id: 'scale', run: scale.run },
  { id: 'dashboard', run: dashboard.run },
  { id: 'backfill', run: backfill.run },
  { id: 'transfer', run: transfer.run },
  { id: 'transfer-breakdown', run: transferBreakdown.run },
  { id: 'transfer-tuning', run: transferTuning.run },
  { id: 'bundles', run: bundles.run },
  { id: 'resume', run: async (ctx) => (await import('./resume.js')).run(ctx) },
];
