/**
 * The wire protocol between the control plane and host agents, defined once and imported by both
 * sides, one module per concern (see docs/agent-protocol.md).
 */
export * from './attributes';
export * from './errors';
export * from './frames';
export * from './host-paths';
export * from './labels';
export * from './link';
export * from './parsing';
export * from './statuses';
export * from './streams';
export * from './task-frames';
