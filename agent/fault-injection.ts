/**
 * Crash points for fault tests, inert unless `BERTH_AGENT_FAULT` names one. At that point the agent
 * kills itself with SIGKILL (no clean-up, no flush: what a power cut or the OOM killer would do), so a
 * test can check what a restarted agent makes of the state left behind. Never set it in production.
 *
 *   exit-before-create  a task's start is recorded in the state file, its container not yet created
 *   exit-after-create   the container is created, not yet started
 */
export type CrashPoint = 'exit-before-create' | 'exit-after-create';

export const FAULT_ENV = 'BERTH_AGENT_FAULT';

export function crashPoint(point: CrashPoint): void {
  if (process.env[FAULT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
