/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function, so the
 * report can say where a transfer's main thread spends its time (a measured cause,
 * not a guess). Samples only cover the main thread: thread-pool work (file writes)
 * and the kernel appear as idle or inside the native call that waited for them.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  ms: number;
  share: number;
}

/** Self time of the heaviest functions (each with its caller), plus the total sampled time. */
export function summarizeProfile(path: string, top = 12): { totalMs: number; entries: ProfileEntry[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const selfMs = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    totalMs += ms;
    const node = byId.get(id);
    // The caller too: the same function (a hash update, a copy) serves different callers.
    let parent = node ? parentOf.get(node.id) : undefined;
    // Skip thin wrappers of the same name (crypto's JS update() around the native one).
    while (parent && node && parent.callFrame.functionName === node.callFrame.functionName) parent = parentOf.get(parent.id);
    const key = node ? (parent && parent.callFrame.functionName !== '(root)' ? `${label(node)} ← ${label(parent)}` : label(node)) : '(unknown)';
    selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
  });
  const entries = [...selfMs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, share: ms / totalMs }));
  return { totalMs, entries };
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^.*\/(node_modules\/)?/, '').replace(/^file:\/\//, '');
  const name = functionName || '(anonymous)';
  if (!url) return name;
  return `${name} (${file}:${lineNumber + 1})`;
}

if (require.main === module) {
  for (const path of process.argv.slice(2)) {
    const { totalMs, entries } = summarizeProfile(path, 25);
    console.log(`${path}: ${totalMs.toFixed(0)} ms sampled`);
    for (const entry of entries) console.log(`  ${entry.ms.toFixed(1).padStart(8)} ms ${(entry.share * 100).toFixed(1).padStart(5)}%  ${entry.name}`);
  }
}
