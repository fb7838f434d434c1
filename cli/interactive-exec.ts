/**
 * `berth exec -it`: an interactive session as the aws cli and its session-manager-plugin open one
 * (ExecuteCommand, then the data channel at its stream URL, ecs-exec-protocol.md §2), with two
 * things beyond the plugin: the CLI exits with the command's own exit code (from channel_closed),
 * and it needs nothing installed. Keystrokes go raw (the remote PTY echoes and edits), the
 * terminal's size follows on every resize, unacknowledged input is resent, output is acknowledged
 * and written in sequence order.
 */
import { ECSClient, ExecuteCommandCommand } from '@aws-sdk/client-ecs';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import WebSocket from 'ws';
import {
  acknowledgeFrame,
  type DataChannelFrame,
  decodeFrame,
  encodeFrame,
  MESSAGE_TYPES,
  PAYLOAD_TYPES,
} from '../worker/core/exec/data-channel-frames';
import type { ParsedArgs } from './args';
import { endpointOf } from './berth-api-client';

const RESEND_AFTER_MS = 200;

/** One command line for ExecuteCommand's string: arguments with spaces or quotes are quoted. */
function commandLine(command: string[]): string {
  if (command.length === 0) return '/bin/sh';
  return command
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

export async function runInteractiveExec(
  args: ParsedArgs,
  target: { cluster: string; task: string; container?: string; command: string[] },
): Promise<number> {
  const ecs = new ECSClient({
    endpoint: endpointOf(args),
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: defaultProvider(),
  });
  const out = await ecs.send(
    new ExecuteCommandCommand({
      cluster: target.cluster,
      task: target.task,
      container: target.container,
      command: commandLine(target.command),
      interactive: true,
    }),
  );
  ecs.destroy();
  const session = out.session!;
  const socket = new WebSocket(session.streamUrl!);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(
    JSON.stringify({
      MessageSchemaVersion: '1.0',
      RequestId: crypto.randomUUID(),
      TokenValue: session.tokenValue,
      ClientId: crypto.randomUUID(),
    }),
  );

  let nextInput = 0;
  const unacked = new Map<number, { frame: Uint8Array; sentAtMs: number }>();
  let expectedOutput = 0;
  const heldOutput = new Map<number, DataChannelFrame>();
  let sending: Promise<void> = Promise.resolve();

  const sendInput = (payloadType: number, payload: Uint8Array) => {
    const seq = nextInput++;
    sending = sending.then(async () => {
      const frame = await encodeFrame({
        messageType: MESSAGE_TYPES.input,
        schemaVersion: 1,
        createdDate: Date.now(),
        sequenceNumber: seq,
        flags: 0,
        messageId: crypto.randomUUID(),
        payloadType,
        payload,
      });
      unacked.set(seq, { frame, sentAtMs: Date.now() });
      if (socket.readyState === WebSocket.OPEN) socket.send(frame);
    });
  };
  const sendSize = () => {
    const cols = process.stdout.columns ?? 300;
    const rows = process.stdout.rows ?? 100;
    sendInput(PAYLOAD_TYPES.size, new TextEncoder().encode(JSON.stringify({ cols, rows })));
  };
  const resend = setInterval(() => {
    const nowMs = Date.now();
    for (const entry of unacked.values()) {
      if (nowMs - entry.sentAtMs < RESEND_AFTER_MS) continue;
      entry.sentAtMs = nowMs;
      if (socket.readyState === WebSocket.OPEN) socket.send(entry.frame);
    }
  }, 100);

  const stdin = process.stdin;
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  const onKeys = (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length; offset += 1024)
      sendInput(PAYLOAD_TYPES.output, new Uint8Array(chunk.subarray(offset, offset + 1024)));
  };
  stdin.on('data', onKeys);
  process.stdout.on('resize', sendSize);
  sendSize();

  return new Promise<number>((resolve) => {
    let exitCode = 0;
    const finish = (code: number) => {
      clearInterval(resend);
      stdin.off('data', onKeys);
      process.stdout.off('resize', sendSize);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      socket.close();
      resolve(code);
    };
    let inbox: Promise<void> = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const bytes = new Uint8Array(data as Buffer);
      inbox = inbox.then(async () => {
        const frame = await decodeFrame(bytes);
        if (typeof frame === 'string') return;
        if (frame.messageType === MESSAGE_TYPES.acknowledge) {
          try {
            const seq = JSON.parse(new TextDecoder().decode(frame.payload)).AcknowledgedMessageSequenceNumber;
            unacked.delete(Number(seq));
          } catch {}
        } else if (frame.messageType === MESSAGE_TYPES.output) {
          if (frame.sequenceNumber < expectedOutput) return;
          socket.send(await acknowledgeFrame(frame));
          heldOutput.set(frame.sequenceNumber, frame);
          for (let next = heldOutput.get(expectedOutput); next; next = heldOutput.get(expectedOutput)) {
            heldOutput.delete(expectedOutput);
            process.stdout.write(next.payload);
            expectedOutput++;
          }
        } else if (frame.messageType === MESSAGE_TYPES.channelClosed) {
          try {
            const closed = JSON.parse(new TextDecoder().decode(frame.payload)) as {
              Output?: string;
              ExitCode?: number | null;
            };
            if (typeof closed.ExitCode === 'number') exitCode = closed.ExitCode;
            else {
              process.stderr.write(`\nberth: ${closed.Output ?? 'the session ended'}\n`);
              exitCode = 255;
            }
          } catch {}
          finish(exitCode);
        }
      });
    });
    socket.on('close', () => finish(exitCode));
  });
}
