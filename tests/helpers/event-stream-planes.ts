/**
 * Control planes for the event-stream scenarios, one per runtime, each with clusters whose event
 * tables are already full and with the process that serves the streams at hand, so a test can watch
 * its memory and sockets. On Node the control plane runs as its own process (`berth server`), so
 * the test's own clients don't count against it; on Workers it is the workerd Miniflare starts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { openDatabase } from '../../db/node-database';
import { createCluster } from '../../worker/core/clusters/clusters';
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { resolveServerKey } from '../../worker/hosts/node/local-secrets';
import { ecsClientFor } from './control-plane';
import { createTestKey, type TestCredentials } from './credentials';
import { descendantNamed } from './process-probe';
import { freePort, spawnServer } from './server-process';
import { seedTaskEvents } from './task-event-seed';
import { startWorkersRuntime } from './workers-runtime';

export interface EventStreamPlaneOptions {
  /** Clusters to create; the first gets the join token. */
  clusters: string[];
  /** Events written straight into each cluster's table before any client connects. */
  seededEvents: number;
  /** Also the streams' keepalive interval, so dropping a stalled client takes seconds in tests. */
  heartbeatIntervalMs: number;
}

export interface EventStreamPlane {
  endpoint: string;
  ecs: ECSClient;
  /** The admin key `ecs` signs with; stream requests are signed with it too. */
  credentials: TestCredentials;
  /** The process serving the streams. */
  serverPid: number;
  /** By cluster name. */
  lastSeededEventId: Record<string, number>;
  /** A join token for the first cluster. */
  joinToken: string;
  close(): Promise<void>;
}

export interface EventStreamHarness {
  name: string;
  start(options: EventStreamPlaneOptions): Promise<EventStreamPlane>;
  /**
   * Whether a dropped client's connection closes at once. Node destroys the socket; workerd ends the
   * response only when its pending write to the client completes, i.e. when the client reads again.
   */
  closesDroppedConnectionsAtOnce: boolean;
  /**
   * How many never-reading clients the attack opens. Each accepted one makes the server read about
   * 4 MiB of events before it is pushed back (the kernel's send buffer takes that much first). On
   * workerd those pages come over the local libSQL HTTP server at about 8 MiB/s, so 100 of them
   * take most of a minute on a busy 2-core machine, while 10 show the same bound and drop in seconds.
   */
  attackers: number;
  /**
   * How much the serving process may grow under the attack (it grew by 4.3 GiB on Node before the
   * fix). What remains is mostly the heap's high-water mark from the pages the attack made it read
   * (about 4 MiB per client), which the process keeps for a while after they are garbage; workerd
   * also runs the Worker, the object and the RPC pipe between them in the one process.
   */
  rssGrowthLimitMiB: number;
}

async function seedClusters(deps: CoreDeps, clusters: string[], events: number) {
  const lastSeededEventId: Record<string, number> = {};
  for (const name of clusters) {
    const row = await createCluster(deps, { clusterName: name });
    lastSeededEventId[name] = await seedTaskEvents(deps.db, row.arn, events);
  }
  return lastSeededEventId;
}

export const nodeEventStreamHarness: EventStreamHarness = {
  name: 'node',
  closesDroppedConnectionsAtOnce: true,
  attackers: 200,
  rssGrowthLimitMiB: 200,
  async start({ clusters, seededEvents, heartbeatIntervalMs }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-event-stream-'));
    const database = await openDatabase({ dataDir });
    const deps: CoreDeps = {
      db: database.db,
      config: DEFAULT_BERTH_CONFIG,
      now: Date.now,
      newId: randomHexId,
    };
    const lastSeededEventId = await seedClusters(deps, clusters, seededEvents);
    const joinToken = await mintJoinToken(deps, clusters[0]);
    const credentials = await createTestKey(deps, resolveServerKey(dataDir, {}));
    database.close();
    const server = await spawnServer({
      dataDir,
      port: await freePort(),
      // The per-cluster cap is under test, with every client on one key: lift the per-key limits.
      env: {
        BERTH_HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs),
        BERTH_EVENT_STREAMS_PER_KEY: '0',
        BERTH_API_RATE_PER_KEY: '0',
      },
    });
    const ecs = ecsClientFor(server.url, credentials);
    return {
      endpoint: server.url,
      ecs,
      credentials,
      serverPid: server.child.pid!,
      lastSeededEventId,
      joinToken,
      close: async () => {
        ecs.destroy();
        // SIGKILL: a graceful stop waits for every open HTTP connection, and a stream never ends by itself.
        await server.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

export const workersEventStreamHarness: EventStreamHarness = {
  name: 'workers',
  closesDroppedConnectionsAtOnce: false,
  attackers: 10,
  rssGrowthLimitMiB: 300,
  async start({ clusters, seededEvents, heartbeatIntervalMs }) {
    const runtime = await startWorkersRuntime({ BERTH_HEARTBEAT_INTERVAL_MS: String(heartbeatIntervalMs) });
    const lastSeededEventId = await seedClusters(runtime.plane.deps, clusters, seededEvents);
    const serverPid = descendantNamed(process.pid, 'workerd');
    if (serverPid === undefined) throw new Error('no workerd process found under this test process');
    return {
      endpoint: runtime.endpoint,
      ecs: runtime.ecs,
      credentials: runtime.credentials,
      serverPid,
      lastSeededEventId,
      joinToken: await runtime.mintJoinToken(clusters[0]),
      close: runtime.close,
    };
  },
};
