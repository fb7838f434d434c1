/**
 * The action table is typed by types generated from the ECS model; they must match the model in
 * the repository, or a handler could type-check against a contract that is not the one served.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('the generated ECS operation types', () => {
  it('are up to date with the model in the repository', () => {
    const script = new URL('../../scripts/generate-api-types.mjs', import.meta.url);
    expect(
      execFileSync(process.execPath, [script.pathname, '--check'], { stdio: 'pipe' }).toString(),
    ).toMatch(/is up to date/);
  });
});
