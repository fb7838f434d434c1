/**
 * fanin: 10,000 hollow hosts connected to one control plane at once, heartbeats running at the
 * default 10 s interval. Measures the control plane's resident memory per connection
 * ((RSS with N connected - RSS with none) / N) and its CPU at idle (utime + stime over a 20 s
 * window, as % of one core). Reference in the same run: the same measurement of a bare `ws` echo
 * server holding the same number of connections that send the same pings (the floor of Node + ws).
 *
 * The hosts are light protocol clients (hello, pings both ways), not full agents: 10,000 real
 * agents would not fit the load side of this machine. Flags: --connections N --fanin-processes N
 * --window-ms N --profile (the control plane runs with --cpu-prof and prints where its idle time
 * went; the sampler itself costs ~5% of a core, so read the idle CPU figure from a run without it).
 */

import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { agentSocketUrl } from '../../agent/options';
import { AGENT_CONNECT_PATH } from '../../protocol/agent-protocol';
import { booleanFlag, inMemoryTmpdir, numberFlag } from '../hollow/cli-options';
import { ecsCallOk, mintToken, spawnControlPlane } from '../hollow/control-plane-process';
import {
  mainThreadProfileIn,
  monotonicNowUs,
  type ProfileSummary,
  printProfileSummary,
  summarizeCpuProfile,
} from '../hollow/cpu-profile-summary';
import { spawnEchoServer } from '../hollow/echo-server-process';
import type { LoadReport } from '../hollow/fleet-messages';
import { spawnLoadProcess } from '../hollow/load-process';
import { cpuPercentOver, rssMiB } from '../hollow/process-stats';
import { fmt, printTable, stats, writeResult } from '../report';

const CLUSTER = 'fanin';
const TARGET_KIB_PER_CONNECTION = 10;
const TARGET_IDLE_CPU_PERCENT = 5;
/** After the last connection: lets the connect burst's garbage be collected before measuring. */
const SETTLE_MS = 5_000;
const RSS_SAMPLE_INTERVAL_MS = 1_000;
const EMPTY_WINDOW_MS = 5_000;
/** Per load process: enough to connect quickly, few enough not to time out handshakes under load. */
const CONNECT_CONCURRENCY = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function medianRssMiB(pid: number, samples: number): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(rssMiB(pid));
    await sleep(RSS_SAMPLE_INTERVAL_MS);
  }
  return stats(values).median;
}

interface FaninTarget {
  pid: number;
  socketUrl: string;
  joinToken: string;
  speakProtocol: boolean;
}

async function measure(target: FaninTarget, connections: number, processes: number, windowMs: number) {
  await sleep(SETTLE_MS);
  const rssBeforeMiB = await medianRssMiB(target.pid, 3);
  // What the process costs with nobody connected: timers and housekeeping, not connections.
  const emptyCpu = await cpuPercentOver(target.pid, EMPTY_WINDOW_MS);
  const connectStart = performance.now();
  const loads = Array.from({ length: processes }, (_, p) => {
    const first = Math.floor((p * connections) / processes);
    const next = Math.floor(((p + 1) * connections) / processes);
    return spawnLoadProcess('fanin', {
      type: 'start',
      socketUrl: target.socketUrl,
      joinToken: target.joinToken,
      hosts: next - first,
      firstHostIndex: first,
      speakProtocol: target.speakProtocol,
      connectConcurrency: CONNECT_CONCURRENCY,
    });
  });
  try {
    await Promise.all(loads.map((l) => l.ready));
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await sleep(SETTLE_MS);
    const rssSamplesMiB: number[] = [];
    const sampler = setInterval(() => rssSamplesMiB.push(rssMiB(target.pid)), RSS_SAMPLE_INTERVAL_MS);
    const idleFromUs = monotonicNowUs();
    const idleCpu = await cpuPercentOver(target.pid, windowMs);
    const idleWindow = { fromUs: idleFromUs, toUs: monotonicNowUs() };
    clearInterval(sampler);
    const rssConnectedMiB = stats(rssSamplesMiB).median;
    const reports: LoadReport[] = [];
    for (const load of loads.splice(0)) reports.push(await load.stop());
    return {
      connections,
      connectSeconds,
      rssBeforeMiB,
      rssConnectedMiB,
      rssSamplesMiB,
      kibPerConnection: ((rssConnectedMiB - rssBeforeMiB) * 1024) / connections,
      idleCpuPercent: idleCpu.percent,
      idleCpu,
      emptyCpu,
      idleWindow,
      stillConnected: reports.reduce((sum, r) => sum + r.connected, 0),
      notableLogs: reports.flatMap((r) => r.notableLogs).slice(0, 10),
      loadCpuSeconds: reports.reduce((sum, r) => sum + r.cpuMs, 0) / 1000,
    };
  } finally {
    for (const load of loads) await load.stop().catch(() => undefined);
  }
}

type Measurement = Awaited<ReturnType<typeof measure>>;

const cpuNote = (m: Measurement) =>
  `user ${fmt(m.idleCpu.userPercent, 1)}% + kernel ${fmt(m.idleCpu.systemPercent, 1)}%; ${fmt(m.emptyCpu.percent, 1)}% with no connection`;

export async function runFaninBenchmark() {
  const connections = numberFlag('connections', 10_000);
  const processes = numberFlag('fanin-processes', 4);
  const windowMs = numberFlag('window-ms', 20_000);
  const profileDir = booleanFlag('profile')
    ? mkdtempSync(join(inMemoryTmpdir(), 'berth-fanin-profile-'))
    : undefined;

  const plane = await spawnControlPlane({
    nodeFlags: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  let berth: Measurement;
  try {
    await ecsCallOk(plane, 'CreateCluster', { clusterName: CLUSTER });
    const joinToken = await mintToken(plane, CLUSTER);
    const socketUrl = agentSocketUrl(plane.url, AGENT_CONNECT_PATH, CLUSTER);
    berth = await measure(
      { pid: plane.pid, socketUrl, joinToken, speakProtocol: true },
      connections,
      processes,
      windowMs,
    );
  } finally {
    await plane.stop();
  }
  let profile: (ProfileSummary & { file: string }) | undefined;
  const profileFile = profileDir && mainThreadProfileIn(profileDir);
  if (profileFile)
    profile = { file: profileFile, ...summarizeCpuProfile(profileFile, { window: berth.idleWindow }) };
  const echo = await spawnEchoServer();
  let floor: Measurement;
  try {
    floor = await measure(
      { pid: echo.pid, socketUrl: echo.url, joinToken: '', speakProtocol: false },
      connections,
      processes,
      windowMs,
    );
  } finally {
    await echo.stop();
  }

  const kibMet = berth.kibPerConnection <= TARGET_KIB_PER_CONNECTION;
  const cpuMet = berth.idleCpuPercent < TARGET_IDLE_CPU_PERCENT;
  printTable(
    `fanin: ${connections} hosts connected at once, 10 s heartbeats (light protocol clients, not full agents)`,
    [
      {
        metric: 'control plane memory / connection',
        value: `${fmt(berth.kibPerConnection, 1)} KiB`,
        reference: `target <= ${TARGET_KIB_PER_CONNECTION} KiB`,
        note: `${kibMet ? 'target met' : 'target NOT met'}; RSS ${fmt(berth.rssBeforeMiB, 0)} -> ${fmt(berth.rssConnectedMiB, 0)} MiB`,
      },
      {
        metric: 'bare ws echo memory / connection',
        value: `${fmt(floor.kibPerConnection, 1)} KiB`,
        reference: 'floor',
        note: `ratio ${fmt(berth.kibPerConnection / floor.kibPerConnection, 1)}x; RSS ${fmt(floor.rssBeforeMiB, 0)} -> ${fmt(floor.rssConnectedMiB, 0)} MiB`,
      },
      {
        metric: 'control plane CPU at idle',
        value: `${fmt(berth.idleCpuPercent, 1)}% of a core`,
        reference: `target < ${TARGET_IDLE_CPU_PERCENT}%`,
        note: `${cpuMet ? 'target met' : 'target NOT met'}; ${cpuNote(berth)}`,
      },
      {
        metric: 'bare ws echo CPU at idle',
        value: `${fmt(floor.idleCpuPercent, 1)}% of a core`,
        reference: 'floor',
        note: `same pings from the clients, echoed; ${cpuNote(floor)}`,
      },
      {
        metric: 'hosts connected (hello -> welcome)',
        value: `${fmt(berth.connectSeconds, 1)} s`,
        note: `${fmt(connections / berth.connectSeconds, 0)} hosts/s; ${berth.stillConnected} still connected at the end`,
      },
    ],
  );
  for (const line of [...berth.notableLogs, ...floor.notableLogs]) console.log(line);
  if (profile)
    printProfileSummary(`control plane CPU profile, the ${windowMs / 1000} s idle window`, profile);
  return writeResult('fanin', {
    connections,
    processes,
    windowMs,
    heartbeatIntervalMs: 10_000,
    clients: 'light protocol clients (hello, answer pings, ping at the welcome interval), not full agents',
    targets: { kibPerConnection: TARGET_KIB_PER_CONNECTION, idleCpuPercent: TARGET_IDLE_CPU_PERCENT },
    controlPlane: berth,
    echoReference: floor,
    ratioToReference: {
      kibPerConnection: berth.kibPerConnection / floor.kibPerConnection,
      idleCpuPercent: berth.idleCpuPercent / Math.max(0.01, floor.idleCpuPercent),
    },
    profile,
  });
}
