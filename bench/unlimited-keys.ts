import type { BerthConfig } from '../worker/core/deps';

/**
 * Benchmarks measure what the control plane can serve, so they lift the per-key request rate and
 * stream cap that protect a real deployment from one runaway key (docs/security.md).
 */
export const UNLIMITED_KEYS: Partial<BerthConfig> = { apiRequestsPerSecondPerKey: 0, eventStreamsPerKey: 0 };

/** The same, as the environment of a spawned control plane. */
export const UNLIMITED_KEYS_ENV = { BERTH_API_RATE_PER_KEY: '0', BERTH_EVENT_STREAMS_PER_KEY: '0' };
