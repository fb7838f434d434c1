/**
 * Scenario flags read from the command line (`npm run bench -- hollow --hosts 200`): bench/run.ts
 * passes only the options every scenario shares, so the scale scenarios read their own.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

export function numberFlag(name: string, fallback: number, argv = process.argv): number {
  const index = argv.indexOf(`--${name}`);
  const inline = argv.find((arg) => arg.startsWith(`--${name}=`));
  const text = index >= 0 ? argv[index + 1] : inline?.slice(name.length + 3);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`--${name} must be a non-negative number, got '${text}'`);
  return value;
}

export function booleanFlag(name: string, argv = process.argv): boolean {
  return argv.includes(`--${name}`);
}

/** True when the scenario runs as part of `npm run bench -- all`, which must fit a time budget. */
export function runningAll(argv = process.argv): boolean {
  const scenario = argv.slice(2).find((arg) => !arg.startsWith('-'));
  return scenario === undefined || scenario === 'all';
}

/** A directory in memory when the machine has one (see the hollow scenario for why), else the temp dir. */
export function inMemoryTmpdir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}
