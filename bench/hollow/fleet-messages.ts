/** The IPC messages between a benchmark and one of its load-generator processes (fleet-worker, fanin-worker). */

export interface FleetStart {
  type: 'start';
  endpoint: string;
  cluster: string;
  joinToken: string;
  /** How many hosts this process runs, and the number of its first host (for unique names). */
  hosts: number;
  firstHostIndex: number;
  /** Where each hollow host gets its own state directory. */
  stateRoot: string;
  startDelayMs: number;
  cpu: number;
  memoryMiB: number;
}

export interface FaninStart {
  type: 'start';
  /** The ws:// URL to dial: the agent connect path of a control plane, or a bare echo server. */
  socketUrl: string;
  joinToken: string;
  hosts: number;
  firstHostIndex: number;
  /** Speak the agent protocol (hello, then heartbeats); false for the echo reference, which only holds sockets. */
  speakProtocol: boolean;
  /** How many connection attempts may be in flight at once in this process. */
  connectConcurrency: number;
}

export type LoadCommand = FleetStart | FaninStart | { type: 'stop' };

export interface LoadReport {
  type: 'ready' | 'stopped' | 'failed';
  /** Hosts connected (welcomed, for protocol speakers). */
  connected: number;
  /** Containers running in the simulated runtimes (fleet only). */
  runningContainers?: number;
  /** CPU this process used since it started, in milliseconds. */
  cpuMs: number;
  rssMiB: number;
  /** A few log lines worth reading (errors, reconnects), to explain a bad run. */
  notableLogs: string[];
  error?: string;
}
