/**
 * The task-event feed on its own, over a real libSQL file: what it promises each stream (every
 * event once, in order, live ones on a poke) and what it refuses a client (more than its buffer,
 * a slot past the cap, a stream it never reads, a stream that lives forever).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../db/node-database';
import { createCluster } from '../../worker/core/clusters/clusters';
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import {
  MAX_OPEN_STREAMS_PER_CLUSTER,
  STALLED_KEEPALIVES_BEFORE_DROP,
  STREAM_LIFETIME_KEEPALIVES,
  TaskEventFeed,
} from '../../worker/core/events/task-event-feed';
import { seedTaskEvents } from '../helpers/task-event-seed';

const SEEDED = 2_000;

describe('the task-event feed', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let clusterArn: string;
  let lastId: number;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-feed-'));
    database = await openDatabase({ dataDir });
    clusterArn = (await createCluster(depsWith(10_000), { clusterName: 'feed' })).arn;
    lastId = await seedTaskEvents(database.db, clusterArn, SEEDED);
  });

  afterAll(() => {
    database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function depsWith(keepaliveMs: number): CoreDeps {
    return {
      db: database.db,
      config: { ...DEFAULT_BERTH_CONFIG, heartbeatIntervalMs: keepaliveMs },
      now: Date.now,
      newId: randomHexId,
    };
  }

  /** Reads SSE messages until `enough` says so; returns the event ids and the comments seen. */
  async function read(
    stream: ReadableStream<Uint8Array>,
    enough: (ids: number[], comments: string[]) => boolean,
  ): Promise<{ ids: number[]; comments: string[]; ended: boolean }> {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    const ids: number[] = [];
    const comments: string[] = [];
    let buffer = '';
    while (!enough(ids, comments)) {
      const { value, done } = await reader.read();
      if (done) return { ids, comments, ended: true };
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        for (const line of buffer.slice(0, end).split('\n')) {
          if (line.startsWith('id: ')) ids.push(Number(line.slice(4)));
          else if (line.startsWith(': ')) comments.push(line.slice(2));
        }
        buffer = buffer.slice(end + 2);
      }
    }
    await reader.cancel();
    return { ids, comments, ended: false };
  }

  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('replays every recorded event after the resume point, once each and in id order', async () => {
    const feed = new TaskEventFeed(depsWith(10_000));
    const { ids } = await read(feed.open(clusterArn, 0), (seen) => seen.at(-1) === lastId);
    expect(ids).toEqual(range(lastId - SEEDED + 1, lastId));
    const resumed = await read(feed.open(clusterArn, lastId - 5), (seen) => seen.at(-1) === lastId);
    expect(resumed.ids).toEqual(range(lastId - 4, lastId));
  });

  it('delivers events recorded while the stream waits, each once, when the feed is notified', async () => {
    const feed = new TaskEventFeed(depsWith(60_000));
    const stream = feed.open(clusterArn, lastId);
    const reading = read(stream, (seen) => seen.length === 30);
    // Three bursts, each announced, some landing while a page is being read.
    for (let burst = 0; burst < 3; burst++) {
      await seedTaskEvents(database.db, clusterArn, 10);
      feed.notify();
      feed.notify();
    }
    const { ids, comments } = await reading;
    expect(ids).toEqual(range(lastId + 1, lastId + 30));
    expect(comments).not.toContain('keepalive');
    lastId += 30;
  });

  it('sends a keepalive comment while there is nothing new', async () => {
    const feed = new TaskEventFeed(depsWith(20));
    const { comments } = await read(feed.open(clusterArn, lastId), (_, seen) => seen.includes('keepalive'));
    expect(comments).toContain('keepalive');
  });

  it('drops a stream whose consumer never reads, once its buffer has stayed full for three keepalives', async () => {
    const keepaliveMs = 50;
    const feed = new TaskEventFeed(depsWith(keepaliveMs));
    const startedMs = performance.now();
    const reader = feed.open(clusterArn, 0).getReader();
    await expect(reader.closed).rejects.toThrow(/dropped: its client read nothing/);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(
      STALLED_KEEPALIVES_BEFORE_DROP * keepaliveMs,
    );
    // Its slot is free again: a full cap of streams opens.
    const streams = Array.from({ length: MAX_OPEN_STREAMS_PER_CLUSTER }, () => feed.open(clusterArn, lastId));
    await Promise.all(streams.map((s) => s.cancel()));
  });

  it('keeps a consumer that reads slowly but steadily', async () => {
    const keepaliveMs = 50;
    const feed = new TaskEventFeed(depsWith(keepaliveMs));
    const reader = feed.open(clusterArn, 0).getReader();
    // One chunk per keepalive interval: slow, but never three intervals without taking anything.
    for (let i = 0; i < 8; i++) {
      const { done } = await reader.read();
      expect(done).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, keepaliveMs));
    }
    await reader.cancel();
  });

  it('refuses a stream past the per-cluster cap, and takes one again when a stream ends', async () => {
    const feed = new TaskEventFeed(depsWith(10_000));
    const streams = Array.from({ length: MAX_OPEN_STREAMS_PER_CLUSTER }, () => feed.open(clusterArn, lastId));
    expect(() => feed.open(clusterArn, lastId)).toThrow(
      expect.objectContaining({ errorName: 'LimitExceededException' }),
    );
    await streams[0].cancel();
    const another = feed.open(clusterArn, lastId);
    await Promise.all([...streams.slice(1), another].map((s) => s.cancel()));
  });

  it('ends a stream cleanly after its lifetime, so a client that left unannounced frees its slot', async () => {
    const keepaliveMs = 5;
    const feed = new TaskEventFeed(depsWith(keepaliveMs));
    const startedMs = performance.now();
    const { ended } = await read(feed.open(clusterArn, lastId), () => false);
    expect(ended).toBe(true);
    // Timers run on the event loop's millisecond clock, which can trail performance.now() by under 1 ms.
    const timerClockSlackMs = 1;
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(
      STREAM_LIFETIME_KEEPALIVES * keepaliveMs - timerClockSlackMs,
    );
  });
});
