/**
 * The socket edge, on both sides: raw text in, a typed frame out, or a ProtocolError carrying the
 * close code that tells the peer exactly what was wrong. Nothing past this point parses JSON.
 */
import type { z } from 'zod';
import { type AgentFrame, agentFrameSchema, type ControlFrame, controlFrameSchema } from './frames';
import { CLOSE_CODES, MAX_FRAME_BYTES } from './link';

export class ProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function parseFrame<T>(schema: z.ZodType<T>, raw: string | ArrayBuffer | Uint8Array): T {
  if (typeof raw !== 'string') {
    throw new ProtocolError(CLOSE_CODES.unsupportedData, 'binary frames are not part of the protocol');
  }
  if (raw.length > MAX_FRAME_BYTES) {
    throw new ProtocolError(
      CLOSE_CODES.frameTooLarge,
      `frame of ${raw.length} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ProtocolError(CLOSE_CODES.protocolError, 'frame is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(frame)';
    throw new ProtocolError(CLOSE_CODES.protocolError, `invalid frame at ${path}: ${issue?.message}`);
  }
  return result.data;
}

export const parseAgentFrame = (raw: string | ArrayBuffer | Uint8Array): AgentFrame =>
  parseFrame(agentFrameSchema, raw);
export const parseControlFrame = (raw: string | ArrayBuffer | Uint8Array): ControlFrame =>
  parseFrame(controlFrameSchema, raw);
