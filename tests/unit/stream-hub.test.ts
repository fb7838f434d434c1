/**
 * The control plane's stream multiplexer (worker/core/streams/stream-hub.ts) against in-memory
 * links: credit goes back to the agent only as the consumer takes output, an agent that sends past
 * its credit loses the stream, stdin waits for the agent's credit, many streams share one link,
 * and a link that drops ends its streams (only its own) with a reason.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeStreamData,
  encodeStreamData,
  STREAM_CHUNK_BYTES,
  STREAM_WINDOW_BYTES,
  type StreamChannel,
} from '../../protocol/streams';
import { type AgentLink, InMemoryAgentLinks } from '../../worker/core/cluster/agent-links';
import { StreamHub, type StreamResult } from '../../worker/core/streams/stream-hub';

function fakeLink(id: string) {
  const frames: Record<string, unknown>[] = [];
  const data: Uint8Array[] = [];
  const link: AgentLink = {
    id,
    identity: { kind: 'joinToken', joinTokenHash: 'x' } as unknown as AgentLink['identity'],
    send: (text) => frames.push(JSON.parse(text)),
    sendBinary: (bytes) => data.push(bytes),
    close: () => {},
  };
  return { link, frames, data };
}

function consumer() {
  const received: { channel: StreamChannel; bytes: number }[] = [];
  const ends: StreamResult[] = [];
  return {
    received,
    ends,
    sink: {
      data: (channel: StreamChannel, p: Uint8Array) => received.push({ channel, bytes: p.length }),
      end: (r: StreamResult) => ends.push(r),
    },
  };
}

function setup() {
  const links = new InMemoryAgentLinks();
  const hub = new StreamHub(links, () => {});
  const a = fakeLink('link-a');
  links.bind(a.link, 'instance-a');
  return { links, hub, a };
}

const chunk = (id: number, size: number, channel: StreamChannel = 1) =>
  decodeStreamData(encodeStreamData(id, channel, new Uint8Array(size)))!;

const spec = { kind: 'exec' as const, containerId: 'c1', command: ['true'], tty: false, stdin: true };

describe('the stream hub', () => {
  it('grants the agent more credit only as the consumer takes output', () => {
    const { hub, a } = setup();
    const c = consumer();
    const stream = hub.open('instance-a', spec, c.sink);
    expect(a.frames[0]).toMatchObject({ type: 'streamOpen', streamId: stream.id, spec });
    for (let sent = 0; sent < STREAM_WINDOW_BYTES; sent += STREAM_CHUNK_BYTES) {
      expect(hub.data(a.link, chunk(stream.id, STREAM_CHUNK_BYTES))).toBe(true);
    }
    // A whole window delivered, nothing taken: no credit has gone back.
    expect(a.frames.filter((f) => f.type === 'streamCredit')).toEqual([]);
    stream.consumed(STREAM_WINDOW_BYTES);
    expect(a.frames.filter((f) => f.type === 'streamCredit')).toEqual([
      { type: 'streamCredit', streamId: stream.id, bytes: STREAM_WINDOW_BYTES },
    ]);
    expect(c.ends).toEqual([]);
  });

  it('ends the stream of an agent that sends past its credit', () => {
    const { hub, a } = setup();
    const c = consumer();
    const stream = hub.open('instance-a', spec, c.sink);
    for (let sent = 0; sent < STREAM_WINDOW_BYTES; sent += STREAM_CHUNK_BYTES)
      hub.data(a.link, chunk(stream.id, STREAM_CHUNK_BYTES));
    hub.data(a.link, chunk(stream.id, 1));
    expect(c.ends).toEqual([{ error: { name: 'ProtocolError', message: 'the agent sent past its credit' } }]);
    expect(a.frames.at(-1)).toMatchObject({ type: 'streamClose', streamId: stream.id });
    expect(hub.size).toBe(0);
  });

  it('holds stdin beyond the agent’s credit until the agent grants more, and bounds what it holds', () => {
    const { hub, a } = setup();
    const stream = hub.open('instance-a', spec, consumer().sink);
    expect(stream.write(new Uint8Array(STREAM_WINDOW_BYTES))).toBe(true);
    expect(stream.write(new Uint8Array(10))).toBe(true);
    const sent = () => a.data.reduce((n, d) => n + decodeStreamData(d)!.payload.length, 0);
    expect(sent()).toBe(STREAM_WINDOW_BYTES);
    hub.frame(a.link, { type: 'streamCredit', streamId: stream.id, bytes: 10 });
    expect(sent()).toBe(STREAM_WINDOW_BYTES + 10);
    // A writer that never stops is told to, instead of the hub buffering without bound.
    let accepted = 0;
    while (stream.write(new Uint8Array(64 * 1024))) accepted += 64 * 1024;
    expect(accepted).toBeLessThanOrEqual(1024 * 1024);
  });

  it('carries many streams on one link and ends only the dropped link’s streams, with a reason', () => {
    const { links, hub, a } = setup();
    const b = fakeLink('link-b');
    links.bind(b.link, 'instance-b');
    const onA = Array.from({ length: 50 }, () => consumer());
    const streamsA = onA.map((c) => hub.open('instance-a', spec, c.sink));
    const onB = consumer();
    const streamB = hub.open('instance-b', spec, onB.sink);
    expect(new Set(streamsA.map((s) => s.id)).size).toBe(50);
    for (const [i, s] of streamsA.entries()) hub.data(a.link, chunk(s.id, i + 1, 2));
    expect(onA.map((c) => c.received)).toEqual(onA.map((_, i) => [{ channel: 2, bytes: i + 1 }]));
    // Data for another link's stream is not taken from this link.
    expect(hub.data(a.link, chunk(streamB.id, 1))).toBe(false);
    hub.linkClosed(a.link);
    for (const c of onA)
      expect(c.ends).toEqual([
        { error: { name: 'AgentDisconnected', message: "the agent's link to the control plane dropped" } },
      ]);
    expect(onB.ends).toEqual([]);
    hub.frame(b.link, { type: 'streamEnd', streamId: streamB.id, exitCode: 3 });
    expect(onB.ends).toEqual([{ exitCode: 3, error: undefined }]);
  });

  it('refuses to open a stream for an instance whose agent is not linked', () => {
    const { hub } = setup();
    expect(() => hub.open('instance-z', spec, consumer().sink)).toThrow(/not connected/);
  });
});
