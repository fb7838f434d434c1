/**
 * The agent's end of the streams the control plane opens over the link (protocol/streams.ts): a
 * Docker exec or a container's logs per stream, many at once. Output is sent only within the
 * credit the control plane granted; when it runs out, Docker's stream is paused (so Docker, not
 * the agent, holds the rest), and resumed when credit comes. Stdin is written to Docker and its
 * credit returned once Docker took it. When the link drops every stream ends, and an exec it
 * started is killed: nothing is left running that no one can reach.
 */
import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { AgentFrame, ControlFrame, FrameOf } from '../../protocol/frames';
import { CONTAINER_LABELS } from '../../protocol/labels';
import {
  encodeStreamData,
  MAX_STREAMS_PER_LINK,
  STREAM_CHUNK_BYTES,
  STREAM_WINDOW_BYTES,
  type StreamChannel,
  type StreamData,
  type StreamSpec,
} from '../../protocol/streams';
import { DockerStreamDemux } from './docker-stream-demux';

/** Where a stream's frames go: the link the stream was opened on. */
export interface StreamLinkIo {
  sendFrame(frame: AgentFrame): void;
  sendData(frame: Uint8Array): void;
}

/**
 * Containers (`<cluster>/<id>`) already checked to carry that cluster's label (labels never change), with whether
 * they have a TTY: a repeated exec then costs Docker no inspect. Bounded; past the cap it starts over.
 */
const verifiedContainers = new Map<string, boolean>();
const VERIFIED_CAP = 1_000;

function rememberVerified(containerId: string, tty: boolean): void {
  if (verifiedContainers.size >= VERIFIED_CAP) verifiedContainers.clear();
  verifiedContainers.set(containerId, tty);
}

/** How long to wait for Docker to record an exec's exit code after its stream ended. */
const EXIT_CODE_WAIT_MS = 2_000;

interface OpenStream {
  id: number;
  credit: number;
  /** Output taken from Docker but not yet sent (waiting for credit): at most one read's worth. */
  backlog: { channel: StreamChannel; payload: Buffer }[];
  source?: Readable;
  /** Docker's side of an exec with stdin. */
  input?: Duplex;
  exec?: Docker.Exec;
  /** A terminal size that came before the exec started (Docker resizes only a started exec). */
  pendingSize?: { cols: number; rows: number };
  execStarted?: boolean;
  /** Stdin that came before Docker's side was attached (bounded by the credit we granted). */
  earlyInput: Uint8Array[];
  sourceEnded: boolean;
  ended: boolean;
}

export class AgentStreams {
  private readonly streams = new Map<number, OpenStream>();

  constructor(
    private readonly docker: Docker | undefined,
    private readonly cluster: string,
    private readonly io: StreamLinkIo,
    private readonly log: (line: string) => void,
  ) {}

  open(frame: FrameOf<ControlFrame, 'streamOpen'>): void {
    const { streamId } = frame;
    if (this.streams.has(streamId)) return;
    const stream: OpenStream = {
      id: streamId,
      credit: STREAM_WINDOW_BYTES,
      backlog: [],
      earlyInput: [],
      sourceEnded: false,
      ended: false,
    };
    if (this.streams.size >= MAX_STREAMS_PER_LINK) {
      this.end(stream, { error: { name: 'TooManyStreams', message: 'the link carries too many streams' } });
      return;
    }
    this.streams.set(streamId, stream);
    this.start(stream, frame.spec).catch((error: unknown) => {
      this.end(stream, { error: dockerFailure(error) });
    });
  }

  credit(frame: FrameOf<ControlFrame, 'streamCredit'>): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    stream.credit += frame.bytes;
    this.flush(stream);
  }

  resize(frame: FrameOf<ControlFrame, 'streamResize'>): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    if (!stream.execStarted) {
      stream.pendingSize = { cols: frame.cols, rows: frame.rows };
      return;
    }
    stream.exec?.resize({ h: frame.rows, w: frame.cols }).catch(() => {});
  }

  input(data: StreamData): void {
    const stream = this.streams.get(data.streamId);
    if (!stream || stream.ended) return;
    if (!stream.input) {
      stream.earlyInput.push(data.payload.slice());
      return;
    }
    this.writeInput(stream, stream.input, data.payload);
  }

  private writeInput(stream: OpenStream, input: Duplex, payload: Uint8Array): void {
    const length = payload.length;
    input.write(Buffer.from(payload), () => {
      if (!stream.ended) this.io.sendFrame({ type: 'streamCredit', streamId: stream.id, bytes: length });
    });
  }

  /** The control plane is done with it: stop what was started, say nothing more. */
  close(frame: FrameOf<ControlFrame, 'streamClose'>): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    stream.ended = true;
    this.streams.delete(stream.id);
    void this.stop(stream);
  }

  /** The link dropped: every stream ends and every exec is killed. */
  closeAll(reason: string): void {
    if (this.streams.size > 0) this.log(`ending ${this.streams.size} streams: ${reason}`);
    for (const stream of this.streams.values()) {
      stream.ended = true;
      void this.stop(stream);
    }
    this.streams.clear();
  }

  private async start(stream: OpenStream, spec: StreamSpec): Promise<void> {
    if (!this.docker) throw new StreamFailure('Unsupported', 'this agent runs no Docker engine');
    const container = this.docker.getContainer(spec.containerId);
    const verifiedKey = `${this.cluster}/${spec.containerId}`;
    if (spec.kind === 'logs' || !verifiedContainers.has(verifiedKey)) {
      const info = await container.inspect();
      // Only containers this agent made for this cluster, whatever the id says.
      if (info.Config.Labels?.[CONTAINER_LABELS.cluster] !== this.cluster) {
        throw new StreamFailure('NoSuchContainer', `no container ${spec.containerId} in this cluster`);
      }
      rememberVerified(verifiedKey, info.Config.Tty);
    }
    if (stream.ended) return;
    if (spec.kind === 'logs') {
      const options = {
        stdout: true,
        stderr: true,
        timestamps: spec.timestamps,
        ...(spec.since !== undefined ? { since: spec.since } : {}),
        ...(spec.tail !== undefined ? { tail: spec.tail } : {}),
      };
      const source: Readable = spec.follow
        ? ((await container.logs({ ...options, follow: true })) as unknown as Readable)
        : (await import('node:stream')).Readable.from([
            (await container.logs({ ...options, follow: false })) as unknown as Buffer,
          ]);
      this.pump(stream, source, !verifiedContainers.get(verifiedKey));
      return;
    }
    // A container that is not running makes Docker refuse the exec (409: ContainerNotRunning).
    const exec = await container.exec({
      Cmd: spec.command,
      AttachStdin: spec.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: spec.tty,
      ...(spec.tty ? { Env: ['TERM=xterm'] } : {}),
    });
    stream.exec = exec;
    const duplex = (await exec.start({
      hijack: true,
      stdin: spec.stdin,
      Tty: spec.tty,
    })) as unknown as Duplex;
    if (spec.stdin) {
      stream.input = duplex;
      for (const payload of stream.earlyInput.splice(0)) this.writeInput(stream, duplex, payload);
    }
    stream.execStarted = true;
    const size =
      stream.pendingSize ?? (spec.cols && spec.rows ? { cols: spec.cols, rows: spec.rows } : undefined);
    if (spec.tty && size) exec.resize({ h: size.rows, w: size.cols }).catch(() => {});
    if (stream.ended) {
      void this.stop(stream);
      return;
    }
    this.pump(stream, duplex, !spec.tty);
  }

  private pump(stream: OpenStream, source: Readable, multiplexed: boolean): void {
    stream.source = source;
    const demux = multiplexed ? new DockerStreamDemux() : undefined;
    source.on('data', (chunk: Buffer) => {
      if (stream.ended) return;
      if (demux) demux.push(chunk, (channel, payload) => stream.backlog.push({ channel, payload }));
      else stream.backlog.push({ channel: 1, payload: chunk });
      this.flush(stream);
    });
    const finished = () => {
      if (stream.sourceEnded) return;
      stream.sourceEnded = true;
      this.flush(stream);
    };
    source.on('end', finished);
    source.on('close', finished);
    source.on('error', (error) => {
      this.log(`stream ${stream.id}: ${error.message}`);
      finished();
    });
  }

  /** Sends what the credit allows; pauses Docker's stream while output waits, ends the stream once all is sent. */
  private flush(stream: OpenStream): void {
    if (stream.ended) return;
    while (stream.backlog.length > 0 && stream.credit > 0) {
      // Consecutive pieces of one channel go out as one frame (Docker's own frames can be small).
      const channel = stream.backlog[0]!.channel;
      const limit = Math.min(STREAM_CHUNK_BYTES, stream.credit);
      const parts: Buffer[] = [];
      let size = 0;
      while (size < limit && stream.backlog[0]?.channel === channel) {
        const head = stream.backlog[0]!;
        const take = Math.min(head.payload.length, limit - size);
        parts.push(head.payload.subarray(0, take));
        size += take;
        if (take === head.payload.length) stream.backlog.shift();
        else head.payload = head.payload.subarray(take);
      }
      const payload = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      this.io.sendData(encodeStreamData(stream.id, channel, payload));
      stream.credit -= size;
    }
    if (stream.backlog.length > 0) {
      stream.source?.pause();
      return;
    }
    if (stream.sourceEnded) {
      void this.exitCodeOf(stream).then((exitCode) => this.end(stream, { exitCode }));
      return;
    }
    stream.source?.resume();
  }

  private async exitCodeOf(stream: OpenStream): Promise<number | null | undefined> {
    if (!stream.exec) return undefined;
    const deadline = Date.now() + EXIT_CODE_WAIT_MS;
    for (;;) {
      const info = await stream.exec.inspect().catch(() => undefined);
      if (!info) return null;
      if (!info.Running) return info.ExitCode ?? null;
      if (Date.now() > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private end(stream: OpenStream, result: Omit<FrameOf<AgentFrame, 'streamEnd'>, 'type' | 'streamId'>): void {
    if (stream.ended) return;
    stream.ended = true;
    this.streams.delete(stream.id);
    this.io.sendFrame({ type: 'streamEnd', streamId: stream.id, ...result });
    stream.source?.destroy();
  }

  /** Kills the exec's process (and its group, for a shell's children) and lets go of Docker's stream. */
  private async stop(stream: OpenStream): Promise<void> {
    stream.source?.destroy();
    if (!stream.exec) return;
    const info = await stream.exec.inspect().catch(() => undefined);
    if (!info?.Running || !info.Pid) return;
    // An exec with a TTY leads its own session: a shell's jobs (a `sleep` in the foreground) sit in
    // process groups of that session, and killing the shell alone would orphan them.
    for (const pid of [info.Pid, ...(await sessionMembers(info.Pid))]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}

/** Host processes whose session id is `leader` (from /proc; empty where /proc can't be read). */
async function sessionMembers(leader: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const members: number[] = [];
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[3]) === leader) members.push(Number(entry));
  }
  return members;
}

class StreamFailure extends Error {
  constructor(
    readonly failureName: string,
    message: string,
  ) {
    super(message);
  }
}

function dockerFailure(error: unknown): { name: string; message: string } {
  if (error instanceof StreamFailure) return { name: error.failureName, message: error.message };
  const status = (error as { statusCode?: number }).statusCode;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 1_000);
  if (status === 404) return { name: 'NoSuchContainer', message };
  if (status === 409) return { name: 'ContainerNotRunning', message };
  return { name: 'EngineError', message };
}
