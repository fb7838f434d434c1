/** Docker's own words for a failure, without dockerode's "(HTTP code N) ... -" wrapping. */
export function dockerErrorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const json = (error as { json?: unknown }).json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  return error.message.replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

export function dockerStatusCode(error: unknown): number | undefined {
  const statusCode = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}
