import { describe, expect, it } from 'vitest';
import {
  CLOSE_CODES,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  parseAgentFrame,
  parseControlFrame,
} from '../../protocol/agent-protocol';

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
