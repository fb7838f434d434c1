/**
 * Where a process spent its CPU, from a V8 `.cpuprofile` (node --cpu-prof): self time per function
 * and per place (a dependency, a project folder, or V8's own buckets such as GC and idle).
 * Usage on its own: tsx bench/hollow/cpu-profile-summary.ts <file.cpuprofile> [top]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileShare {
  name: string;
  selfMs: number;
  /** Of all sampled time, idle included. */
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time the thread was busy (not "(idle)"), as a percentage of the profile's duration. */
  busyPercent: number;
  byPlace: ProfileShare[];
  byFunction: ProfileShare[];
  /** Time with the named function anywhere on the stack (self and callees), for the functions asked about. */
  inclusive: ProfileShare[];
}

/** The control plane's main paths, to split its time by what it was doing. */
export const CONTROL_PLANE_PATHS = [
  'onAgentSocketMessage',
  'parseAgentFrame',
  'recordReports',
  'recordBatch',
  'applyReport',
  'taskEventInsert',
  'runTask',
  'planAndWriteRunTask',
  'placeTasks',
  'dispatchPlan',
  'toEcsTask',
  'agentHello',
  'batch',
  'execute',
];

/** node_modules/<package>, a project folder (worker/core/...), or V8's bucket name. */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName || '(native)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (path.startsWith('node:')) return path;
  const project = /\/(worker|db|protocol|agent|cli|bench)\/(.*)\/[^/]+$/.exec(path);
  if (project) return `${project[1]}/${project[2]}`;
  const topFile = /\/(worker|db|protocol|agent|cli|bench)\/[^/]+$/.exec(path);
  return topFile ? topFile[1] : path;
}

function top(totals: Map<string, number>, totalMs: number, count: number): ProfileShare[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, selfMs]) => ({ name, selfMs, percent: (selfMs / totalMs) * 100 }));
}

/** The agent's main paths, to split a fleet process's time (hollow hosts) by what it was doing. */
export const AGENT_PATHS = [
  'onMessage',
  'parseControlFrame',
  'runTask',
  'runStartSequence',
  'report',
  'save',
  'flush',
  'writeAtomically',
  'onContainerEvent',
  'reevaluate',
  'helloSnapshot',
];

/**
 * A stretch of time on the machine's monotonic clock, in microseconds: V8 stamps profile samples
 * with the same clock as `process.hrtime`, in every process, so another process can mark a window.
 */
export interface MonotonicWindow {
  fromUs: number;
  toUs: number;
}

export const monotonicNowUs = () => Number(process.hrtime.bigint() / 1000n);

export interface SummaryOptions {
  /** Only the samples taken in this window (default: the whole profile). */
  window?: MonotonicWindow;
  count?: number;
  paths?: string[];
}

export function summarizeCpuProfile(file: string, options: SummaryOptions = {}): ProfileSummary {
  const { window, count = 15, paths = CONTROL_PLANE_PATHS } = options;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const wanted = new Set(paths);
  const inclusive = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  let atUs = profile.startTime;
  profile.samples.forEach((id, i) => {
    const deltaUs = profile.timeDeltas[i] ?? 0;
    atUs += deltaUs;
    if (window && (atUs < window.fromUs || atUs > window.toUs)) return;
    const deltaMs = deltaUs / 1000;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    totalMs += deltaMs;
    if (functionName === '(idle)') idleMs += deltaMs;
    const place = placeOf(url, functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + deltaMs);
    const fn = url ? `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}` : place;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + deltaMs);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (wanted.has(name)) onStack.add(name);
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + deltaMs);
  });
  return {
    totalMs,
    busyPercent: ((totalMs - idleMs) / Math.max(1, totalMs)) * 100,
    byPlace: top(byPlace, totalMs, count),
    byFunction: top(byFunction, totalMs, count),
    inclusive: top(inclusive, totalMs, paths.length),
  };
}

/**
 * The main thread's profile in a --cpu-prof-dir (the first, if several processes wrote there):
 * files are named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, and thread 0 is the main one.
 */
export function mainThreadProfileIn(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const file = readdirSync(dir)
    .filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
    .sort()[0];
  return file && join(dir, file);
}

export function printProfileSummary(title: string, summary: ProfileSummary): void {
  console.log(
    `\n-- ${title}: ${(summary.totalMs / 1000).toFixed(1)} s sampled, busy ${summary.busyPercent.toFixed(0)}% --`,
  );
  const line = (s: ProfileShare) =>
    `  ${s.percent.toFixed(1).padStart(5)}%  ${(s.selfMs / 1000).toFixed(2).padStart(7)} s  ${s.name}`;
  console.log(' self time by place:');
  for (const share of summary.byPlace) console.log(line(share));
  console.log(' self time by function:');
  for (const share of summary.byFunction) console.log(line(share));
  console.log(' total time with the function on the stack:');
  for (const share of summary.inclusive) console.log(line(share));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, count] = process.argv.slice(2);
  printProfileSummary(file, summarizeCpuProfile(file, { count: Number(count ?? 15) }));
}
