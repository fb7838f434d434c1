/**
 * The host agent's public surface (used by `berth agent` and `berth start`):
 *   parseAgentOptions(argv, env)  flags and BERTH_* environment variables -> AgentOptions
 *   startAgent(options)           dials the control plane and runs its tasks through Docker
 * See docs/agent.md for the design.
 */
export { type RunningAgent, type StartAgentOptions, startAgent } from './agent';
export { type AgentAttribute, type AgentOptions, DEFAULT_STATE_DIR, parseAgentOptions } from './options';
export { DockerRuntime } from './runtime/docker';
export type { ContainerRuntime, ContainerState, CreateContainerRequest } from './runtime/types';
