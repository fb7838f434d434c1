import type { ControlFrameHandler } from './types';

/** The answer to the agent's keepalive. Nothing to do: its arrival already proved the link alive. */
export const onPong: ControlFrameHandler<'pong'> = async () => {};
