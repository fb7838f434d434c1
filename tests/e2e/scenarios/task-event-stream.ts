/**
 * The task-event stream under load, written once and run against every runtime: clusters with
 * 12,000 recorded events, a client that replays them all, a live event, the per-cluster cap, and
 * the attack of issue 9 (200 clients ask for `?after=0` and never read). The server must stay
 * small and responsive, refuse streams past the cap, and drop the clients that don't read.
 */
import { DescribeClustersCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPEN_STREAMS_PER_CLUSTER } from '../../../worker/core/events/task-event-feed';
import { signedFetch } from '../../helpers/credentials';
import type { EventStreamHarness, EventStreamPlane } from '../../helpers/event-stream-planes';
import { connectionsHeld, rssMiB, samplePeak } from '../../helpers/process-probe';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import { type SseMessage, SseReader } from '../../helpers/sse-reader';
import { openStalledClient } from '../../helpers/stalled-http-client';
import { waitFor } from '../../helpers/wait';

/** Read, resumed and watched live. */
const CLUSTER = 'events';
/** Filled to its cap. */
const CAPPED = 'capped';
/** Attacked: its own cluster, so no stream of the other tests holds one of its slots. */
const ATTACKED = 'attacked';
const SEEDED_EVENTS = 12_000;
/** The seeded events are about 1.5 KB each. */
const REPLAY_BYTES = SEEDED_EVENTS * 1_500;
/** Also the streams' keepalive interval: a stalled client is dropped after three of them. */
const HEARTBEAT_MS = 1_000;

const streamPath = (cluster: string, query = '') => `/berth/v1/clusters/${cluster}/task-events${query}`;

interface TaskEvent {
  detail: { taskArn: string; version: number };
}

export function defineTaskEventStreamScenarios(harness: EventStreamHarness) {
  describe(`the task-event stream under load on the ${harness.name} runtime`, () => {
    let plane: EventStreamPlane;
    const streamUrl = (cluster: string, query = '') => `${plane.endpoint}${streamPath(cluster, query)}`;

    beforeAll(async () => {
      plane = await harness.start({
        clusters: [CLUSTER, CAPPED, ATTACKED],
        seededEvents: SEEDED_EVENTS,
        heartbeatIntervalMs: HEARTBEAT_MS,
      });
    });

    afterAll(async () => {
      await plane?.close();
    });

    /** Reads events until the one with `lastId`, skipping comments. */
    async function readEventsThrough(reader: SseReader, lastId: number): Promise<SseMessage[]> {
      const events: SseMessage[] = [];
      while (events.at(-1)?.id !== lastId) {
        const message = await reader.next();
        if (message.id !== undefined) events.push(message);
      }
      return events;
    }

    it('replays all 12,000 recorded events to a reading client, in id order, each exactly once', async () => {
      const lastId = plane.lastSeededEventId[CLUSTER];
      const startedMs = performance.now();
      const reader = await SseReader.open(streamUrl(CLUSTER, '?after=0'), plane.credentials);
      const events = await readEventsThrough(reader, lastId);
      reader.close();
      const firstId = lastId - SEEDED_EVENTS + 1;
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: SEEDED_EVENTS }, (_, i) => firstId + i));
      const versions = events.map((e) => (JSON.parse(e.data!) as TaskEvent).detail.version);
      expect(versions).toEqual(Array.from({ length: SEEDED_EVENTS }, (_, i) => i + 1));
      console.log(
        `[${harness.name}] replayed ${SEEDED_EVENTS} events in ${(performance.now() - startedMs).toFixed(0)} ms`,
      );
    });

    it('resumes after Last-Event-ID with exactly the events that follow it', async () => {
      const lastId = plane.lastSeededEventId[CLUSTER];
      const reader = await SseReader.open(streamUrl(CLUSTER), plane.credentials, {
        'Last-Event-ID': String(lastId - 10),
      });
      const events = await readEventsThrough(reader, lastId);
      reader.close();
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => lastId - 9 + i));
    });

    describe('with an agent to run tasks', () => {
      let agent: RawAgent;

      beforeAll(async () => {
        agent = await connectRawAgent(plane.endpoint, CLUSTER, plane.joinToken);
        agent.send(helloFrame());
        await agent.waitForFrame('welcome');
        await plane.ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'live-event',
            containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
          }),
        );
      });

      afterAll(() => agent?.close());

      it('delivers a live event to a caught-up client before its next keepalive', async () => {
        const reader = await SseReader.open(streamUrl(CLUSTER), plane.credentials, {
          'Last-Event-ID': String(plane.lastSeededEventId[CLUSTER]),
        });
        // Start right after a keepalive: until the next one, only the coordinator's poke can bring news.
        while ((await reader.next()).comment !== 'keepalive') {}
        const runStartedMs = performance.now();
        const run = await plane.ecs.send(
          new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'live-event' }),
        );
        const next = await reader.next();
        reader.close();
        expect(next.comment).toBeUndefined();
        expect((JSON.parse(next.data!) as TaskEvent).detail.taskArn).toBe(run.tasks![0].taskArn);
        const latencyMs = next.atMs - runStartedMs;
        expect(latencyMs).toBeLessThan(HEARTBEAT_MS);
        console.log(`[${harness.name}] live event arrived ${latencyMs.toFixed(0)} ms after RunTask was sent`);
      });
    });

    it('answers an unknown cluster and a resume point that is not an event id with the ECS error JSON', async () => {
      const unknown = await signedFetch(streamUrl('no-such-cluster', '?after=0'), {}, plane.credentials);
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ __type: 'ClusterNotFoundException' });
      const badResume = await signedFetch(
        streamUrl(CLUSTER),
        { headers: { 'Last-Event-ID': 'yesterday' } },
        plane.credentials,
      );
      expect(badResume.status).toBe(400);
      expect(await badResume.json()).toMatchObject({ __type: 'InvalidParameterException' });
    });

    it('refuses one stream past the per-cluster cap with 429, Retry-After and the ECS error', async () => {
      const abort = new AbortController();
      const caughtUp = { 'Last-Event-ID': String(plane.lastSeededEventId[CAPPED]) };
      const open = await Promise.all(
        Array.from({ length: MAX_OPEN_STREAMS_PER_CLUSTER }, () =>
          signedFetch(streamUrl(CAPPED), { headers: caughtUp, signal: abort.signal }, plane.credentials),
        ),
      );
      expect(open.map((r) => r.status)).toEqual(open.map(() => 200));
      const oneMore = await signedFetch(streamUrl(CAPPED), { headers: caughtUp }, plane.credentials);
      abort.abort();
      expect(oneMore.status).toBe(429);
      expect(oneMore.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await oneMore.json()).toMatchObject({
        __type: 'LimitExceededException',
        message: expect.stringMatching(/retry later/),
      });
    });

    /** DescribeClusters, again and again until stopped; `stop()` gives each call's duration or failure. */
    function keepDescribing(): { stop(): Promise<{ durations: number[]; failures: string[] }> } {
      const durations: number[] = [];
      const failures: string[] = [];
      let stopped = false;
      const loop = (async () => {
        while (!stopped) {
          const startedMs = performance.now();
          try {
            await plane.ecs.send(new DescribeClustersCommand({ clusters: [ATTACKED] }));
          } catch (error) {
            failures.push(String(error));
          }
          durations.push(performance.now() - startedMs);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      return {
        stop: async () => {
          stopped = true;
          await loop;
          return { durations, failures };
        },
      };
    }

    /**
     * Streams of the attacked cluster opened and held (not read) until `release()`: each one the
     * server accepts proves a slot free. They are held rather than closed because local workerd
     * never tells the object that a client went away (such a slot frees only at the stream's end
     * of life), so closing and opening again would count no further.
     */
    function slotProbes() {
      const held: AbortController[] = [];
      return {
        /** Opens streams until a full cap is held; true once it is. */
        async holdFullCap(): Promise<boolean> {
          const attempts = Array.from({ length: MAX_OPEN_STREAMS_PER_CLUSTER - held.length }, async () => {
            const abort = new AbortController();
            const response = await signedFetch(
              streamUrl(ATTACKED),
              {
                headers: { 'Last-Event-ID': String(plane.lastSeededEventId[ATTACKED]) },
                signal: abort.signal,
              },
              plane.credentials,
            );
            if (response.status === 200) held.push(abort);
            else abort.abort();
          });
          await Promise.all(attempts);
          return held.length === MAX_OPEN_STREAMS_PER_CLUSTER;
        },
        release: () => {
          for (const abort of held) abort.abort();
        },
      };
    }

    it(`stays small and responsive while ${harness.attackers} clients replay from 0 and never read, and drops them`, async () => {
      const { serverPid } = plane;
      const rssBefore = rssMiB(serverPid);
      const peak = samplePeak(() => rssMiB(serverPid));
      const describing = keepDescribing();

      const attackStartedMs = performance.now();
      const clients = await Promise.all(
        Array.from({ length: harness.attackers }, () =>
          openStalledClient(plane.endpoint, streamPath(ATTACKED, '?after=0'), plane.credentials),
        ),
      );
      const accepted = clients.filter((c) => c.status === 200);
      const refused = clients.filter((c) => c.status === 429);
      expect(accepted.length + refused.length).toBe(harness.attackers);
      // A slot freed by a drop may go to a later attacker, so only "some were refused" is exact.
      if (harness.attackers > MAX_OPEN_STREAMS_PER_CLUSTER) expect(refused.length).toBeGreaterThan(0);
      for (const client of refused) client.destroy();

      // Every client that doesn't read is dropped: the cluster serves a full cap of streams again.
      const probes = slotProbes();
      await waitFor('the clients that never read to be dropped', () => probes.holdFullCap(), 60_000, 500);
      const droppedMs = performance.now() - attackStartedMs;
      probes.release();
      if (harness.closesDroppedConnectionsAtOnce) {
        const clientPorts = accepted.map((c) => c.localPort);
        expect(connectionsHeld(serverPid, Number(new URL(plane.endpoint).port), clientPorts)).toBe(0);
      }
      const { durations: describeMs, failures: describeFailures } = await describing.stop();
      const rssPeak = peak.stop();

      // A dropped client that reads again gets what was already on its way, then the connection ends.
      const received = await Promise.all(accepted.map((c) => c.readUntilServerCloses(15_000)));
      const mostReceived = Math.max(...received);

      console.log(
        `[${harness.name}] attack: ${accepted.length} streams accepted (at most ${MAX_OPEN_STREAMS_PER_CLUSTER} ` +
          `at once), ${refused.length} refused with 429, all dropped within ${(droppedMs / 1000).toFixed(1)} s; ` +
          `server RSS ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB at peak ` +
          `(+${(rssPeak - rssBefore).toFixed(0)} MiB); ${describeMs.length} DescribeClusters meanwhile, the ` +
          `slowest ${Math.max(...describeMs).toFixed(0)} ms; a dropped client got at most ` +
          `${(mostReceived / 1024 / 1024).toFixed(1)} MiB of the ${(REPLAY_BYTES / 1024 / 1024).toFixed(0)} MiB replay`,
      );
      expect(describeFailures).toEqual([]);
      expect(Math.max(...describeMs)).toBeLessThan(1_000);
      expect(rssPeak - rssBefore).toBeLessThan(harness.rssGrowthLimitMiB);
      expect(mostReceived).toBeLessThan(REPLAY_BYTES / 2);
    });
  });
}
