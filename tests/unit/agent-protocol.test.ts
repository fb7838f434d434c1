import { describe, expect, it } from 'vitest';
import { agentError, MAX_AGENT_ERROR_MESSAGE_LENGTH } from '../../protocol/errors';
import {
  CLOSE_CODES,
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
} from '../../protocol/link';
import { ProtocolError, parseAgentFrame, parseControlFrame } from '../../protocol/parsing';

function closeCodeOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) return error.closeCode;
    throw error;
  }
  throw new Error('expected a ProtocolError');
}

const hello = {
  type: 'hello',
  protocolVersion: PROTOCOL_VERSION,
  agentVersion: '0.1.0',
  hostname: 'host-a',
  resources: { cpu: 2048, memoryMiB: 4096 },
  attributes: [{ name: 'ecs.os-type', value: 'linux' }],
  dockerVersion: '20.10.24',
  tasks: [],
};

describe('parseAgentFrame', () => {
  it('accepts a well-formed hello and task report', () => {
    expect(parseAgentFrame(JSON.stringify(hello)).type).toBe('hello');
    const frame = parseAgentFrame(
      JSON.stringify({
        type: 'taskState',
        seq: 4,
        task: {
          taskArn: 't',
          generation: 1,
          lastStatus: 'RUNNING',
          containers: [{ name: 'a', lastStatus: 'RUNNING' }],
        },
      }),
    );
    expect(frame.type === 'taskState' && frame.task.lastStatus).toBe('RUNNING');
  });

  it("carries a container's image digest as an optional field, so agents with and without it both parse", () => {
    const report = (container: Record<string, unknown>) =>
      parseAgentFrame(
        JSON.stringify({
          type: 'taskState',
          seq: 1,
          task: { taskArn: 't', generation: 1, lastStatus: 'RUNNING', containers: [container] },
        }),
      );
    const digest = `sha256:${'c'.repeat(64)}`;
    const withDigest = report({ name: 'a', lastStatus: 'RUNNING', imageDigest: digest });
    expect(withDigest.type === 'taskState' && withDigest.task.containers[0].imageDigest).toBe(digest);
    const without = report({ name: 'a', lastStatus: 'RUNNING' });
    expect(without.type === 'taskState' && without.task.containers[0].imageDigest).toBeUndefined();
    expect(() => report({ name: 'a', lastStatus: 'RUNNING', imageDigest: 'x'.repeat(257) })).toThrow(
      /imageDigest/,
    );
  });

  it('closes with protocolError for text that is not JSON', () => {
    expect(closeCodeOf(() => parseAgentFrame('{nope'))).toBe(CLOSE_CODES.protocolError);
  });

  it('closes with protocolError for an unknown frame type and names the field', () => {
    expect(closeCodeOf(() => parseAgentFrame('{"type":"launchMissiles"}'))).toBe(CLOSE_CODES.protocolError);
    expect(() =>
      parseAgentFrame(JSON.stringify({ ...hello, resources: { cpu: 'lots', memoryMiB: 1 } })),
    ).toThrow(/resources\.cpu/);
  });

  it('refuses binary and oversized frames with their own close codes', () => {
    expect(closeCodeOf(() => parseAgentFrame(new Uint8Array([1, 2])))).toBe(CLOSE_CODES.unsupportedData);
    expect(closeCodeOf(() => parseAgentFrame('x'.repeat(MAX_FRAME_BYTES + 1)))).toBe(
      CLOSE_CODES.frameTooLarge,
    );
  });

  it('rejects a task status outside the lifecycle', () => {
    const frame = {
      type: 'taskState',
      seq: 1,
      task: { taskArn: 't', generation: 1, lastStatus: 'DANCING', containers: [] },
    };
    expect(closeCodeOf(() => parseAgentFrame(JSON.stringify(frame)))).toBe(CLOSE_CODES.protocolError);
  });
});

describe('the nack', () => {
  const nack = {
    type: 'nack',
    messageId: 'm1',
    error: { name: 'StateFileWriteFailed', retryable: true, message: 'disk full' },
  };

  it('carries the refused command and a typed error', () => {
    expect(parseAgentFrame(JSON.stringify(nack))).toEqual(nack);
  });

  it('accepts an error name this control plane does not know (the agent may be newer)', () => {
    const frame = { ...nack, error: { ...nack.error, name: 'SomethingNew' } };
    expect(parseAgentFrame(JSON.stringify(frame)).type).toBe('nack');
  });

  it('refuses an error without retryable', () => {
    const frame = { ...nack, error: { name: 'StateFileWriteFailed', message: 'disk full' } };
    expect(() => parseAgentFrame(JSON.stringify(frame))).toThrow(/error\.retryable/);
  });

  it('is built with its message cut to what the schema accepts', () => {
    const error = agentError({ name: 'InternalError', retryable: false, message: 'x'.repeat(5_000) });
    expect(error.message).toHaveLength(MAX_AGENT_ERROR_MESSAGE_LENGTH);
    expect(parseAgentFrame(JSON.stringify({ ...nack, error })).type).toBe('nack');
  });
});

describe('the keepalive', () => {
  it('is a valid ping from the agent and a valid pong from the control plane', () => {
    expect(parseAgentFrame(KEEPALIVE_PING)).toEqual({ type: 'ping', sentAtMs: 0 });
    expect(parseControlFrame(KEEPALIVE_PONG)).toEqual({ type: 'pong', sentAtMs: 0 });
  });

  it('is the exact text a pong echoing it serialises to, so both hosts answer with the same bytes', () => {
    const ping = parseAgentFrame(KEEPALIVE_PING);
    expect(ping.type === 'ping' && JSON.stringify({ type: 'pong', sentAtMs: ping.sentAtMs })).toBe(
      KEEPALIVE_PONG,
    );
  });
});

describe('parseControlFrame', () => {
  it('accepts a stop command with its generation', () => {
    const frame = parseControlFrame(
      JSON.stringify({ type: 'stopTask', messageId: 'm1', taskArn: 't', generation: 2, reason: 'bye' }),
    );
    expect(frame.type === 'stopTask' && frame.generation).toBe(2);
  });

  it('rejects a run command without containers', () => {
    const frame = {
      type: 'runTask',
      messageId: 'm',
      task: {
        taskArn: 't',
        generation: 1,
        desiredStatus: 'RUNNING',
        family: 'f',
        revision: 1,
        networkMode: 'bridge',
        containers: [],
      },
    };
    expect(closeCodeOf(() => parseControlFrame(JSON.stringify(frame)))).toBe(CLOSE_CODES.protocolError);
  });
});
