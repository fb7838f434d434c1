/** What a server process holds right now, read from /proc (Linux): its resident memory and its connections. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

/** The inodes of the sockets the process holds open. */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(Number(match[1]));
    } catch {
      // closed between the listing and the look
    }
  }
  return inodes;
}

/** The inodes of the TCP connections accepted on `serverPort` from each of `clientPorts`. */
function serverEndsOf(serverPort: number, clientPorts: number[]): Set<number> {
  const wanted = new Set(clientPorts);
  const inodes = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const localPort = Number.parseInt(fields[1].split(':')[1], 16);
      const remotePort = Number.parseInt(fields[2].split(':')[1], 16);
      if (localPort === serverPort && wanted.has(remotePort)) inodes.add(Number(fields[9]));
    }
  }
  inodes.delete(0); // 0: already orphaned (closed by the process, the kernel still flushing it)
  return inodes;
}

/**
 * How many of the connections from `clientPorts` the server process still holds. One the server
 * closed is gone from its descriptors at once, even while the kernel still holds data for a client
 * that doesn't read (as an orphan), so this sees a drop without the client reading anything.
 */
export function connectionsHeld(pid: number, serverPort: number, clientPorts: number[]): number {
  const held = socketInodes(pid);
  return [...serverEndsOf(serverPort, clientPorts)].filter((inode) => held.has(inode)).length;
}

/** The first descendant of `ancestor` whose command name is `name` (e.g. the workerd Miniflare started). */
export function descendantNamed(ancestor: number, name: string): number | undefined {
  const parentOf = new Map<number, number>();
  const nameOf = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      nameOf.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      parentOf.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // exited while listing
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p))
      if (p === ancestor) return true;
    return false;
  };
  return [...nameOf].find(([pid, comm]) => comm === name && descends(pid))?.[0];
}

/** Samples `probe` every `intervalMs` until stopped; `stop()` returns the largest value seen. */
export function samplePeak(probe: () => number, intervalMs = 50): { stop(): number } {
  let peak = probe();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, probe());
    } catch {
      // the process is gone; keep the peak seen
    }
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}
