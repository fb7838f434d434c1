/**
 * validateInput against generated hostile bodies for every operation of the model: it answers with
 * an ECS error or a clean copy, never anything else, and the copy is a fixed point (validating it
 * again gives the same copy) with no null left in it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { operationNames, validateInput } from '../../worker/api/model/validate-input';
import { EcsError } from '../../worker/core/errors';
import { ecsBodyArbitrary, type FuzzNames } from '../helpers/ecs-body-arbitrary';

const RUNS_PER_OPERATION = 40;
const NAMES: FuzzNames = {
  cluster: 'fuzz',
  family: 'fuzz-web',
  containerInstanceArns: [`arn:aws:ecs:us-east-1:000000000000:container-instance/fuzz/${'c'.repeat(32)}`],
  taskArns: [`arn:aws:ecs:us-east-1:000000000000:task/fuzz/${'d'.repeat(32)}`],
};

function outcomeOf(
  operation: string,
  body: unknown,
): { copy: Record<string, unknown> } | { error: EcsError } {
  try {
    return { copy: validateInput(operation, body) };
  } catch (error) {
    if (error instanceof EcsError) return { error };
    throw error;
  }
}

describe('validateInput under generated hostile bodies', () => {
  it.each(operationNames())('answers %s with an ECS error or a clean copy, never a crash', (operation) => {
    fc.assert(
      fc.property(ecsBodyArbitrary(operation, NAMES), (text) => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return; // not JSON: the front answers before validation
        }
        const outcome = outcomeOf(operation, body);
        if ('error' in outcome) {
          expect(outcome.error.httpStatus).toBe(400);
          return;
        }
        expect(validateInput(operation, outcome.copy)).toEqual(outcome.copy);
        if (operation !== 'CreateService' && operation !== 'UpdateService') {
          // Only a document member (deployment lifecycle hookDetails) may carry a null onward.
          expect(JSON.stringify(outcome.copy)).not.toMatch(/:null\b/);
        }
      }),
      { numRuns: RUNS_PER_OPERATION },
    );
  });
});
