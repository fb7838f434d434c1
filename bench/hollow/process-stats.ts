/**
 * Memory and CPU of another process, read from /proc (Linux): how a benchmark measures the control
 * plane on its own, apart from the load generators sharing the machine.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second for utime/stime in /proc/<pid>/stat (USER_HZ, 100 on every Linux we run on). */
const CLOCK_TICKS_PER_SECOND = 100;

function statusFieldKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** Resident memory right now, in MiB. */
export const rssMiB = (pid: number) => statusFieldKiB(pid, 'VmRSS') / 1024;

/** The high-water mark of resident memory since the process started, in MiB. */
export const peakRssMiB = (pid: number) => statusFieldKiB(pid, 'VmHWM') / 1024;

/** CPU time the process (all its threads) has used so far, in user and in kernel mode, in milliseconds. */
export function cpuTimesMs(pid: number): { userMs: number; systemMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis don't.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS_PER_SECOND,
    systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}

/** User + system CPU time the process has used so far, in milliseconds. */
export function cpuTimeMs(pid: number): number {
  const { userMs, systemMs } = cpuTimesMs(pid);
  return userMs + systemMs;
}

export interface CpuShare {
  /** Of one core, user + system. */
  percent: number;
  userPercent: number;
  systemPercent: number;
}

/** CPU used over a window, as a percentage of one core. */
export async function cpuPercentOver(pid: number, windowMs: number): Promise<CpuShare> {
  const before = cpuTimesMs(pid);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const elapsedMs = performance.now() - t0;
  const after = cpuTimesMs(pid);
  const userPercent = ((after.userMs - before.userMs) / elapsedMs) * 100;
  const systemPercent = ((after.systemMs - before.systemMs) / elapsedMs) * 100;
  return { percent: userPercent + systemPercent, userPercent, systemPercent };
}

/** CPU time of the process's main thread alone (its event loop), in milliseconds. */
export function mainThreadCpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Bytes the process caused to be written to storage so far (page cache writeback included). */
export function diskWriteBytes(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return Number(/^write_bytes:\s+(\d+)/m.exec(io)?.[1] ?? 0);
}

export interface UsageSnapshot {
  atMs: number;
  cpuMs: number;
  mainThreadCpuMs: number;
  diskWriteBytes: number;
}

export function usageSnapshot(pid: number): UsageSnapshot {
  return {
    atMs: performance.now(),
    cpuMs: cpuTimeMs(pid),
    mainThreadCpuMs: mainThreadCpuTimeMs(pid),
    diskWriteBytes: diskWriteBytes(pid),
  };
}

/** What a process used between two snapshots: CPU as % of one core (all threads, and the main thread alone). */
export function usageBetween(before: UsageSnapshot, after: UsageSnapshot) {
  const elapsedMs = after.atMs - before.atMs;
  return {
    cpuPercent: ((after.cpuMs - before.cpuMs) / elapsedMs) * 100,
    mainThreadCpuPercent: ((after.mainThreadCpuMs - before.mainThreadCpuMs) / elapsedMs) * 100,
    diskWriteMiB: (after.diskWriteBytes - before.diskWriteBytes) / (1024 * 1024),
  };
}
