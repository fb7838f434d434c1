/** The JSON 1.1 protocol sends timestamps as epoch seconds. */
export const epochSeconds = (ms: number | null | undefined): number | undefined =>
  ms === null || ms === undefined ? undefined : ms / 1000;
