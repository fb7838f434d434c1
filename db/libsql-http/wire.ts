/**
 * Hrana over HTTP, JSON encoding (the `v2` and `v3` pipeline bodies): request schemas, parsed only at
 * the HTTP edge, and the response shapes. Field names are the wire's snake_case on purpose.
 * Unknown fields are ignored, as the spec asks of both peers.
 */
import { z } from 'zod';

export type WireValue =
  | { type: 'null' }
  | { type: 'integer'; value: string }
  | { type: 'float'; value: number }
  | { type: 'text'; value: string }
  | { type: 'blob'; base64: string };

const valueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('null') }),
  z.object({ type: z.literal('integer'), value: z.string().regex(/^-?\d+$/, 'must be a decimal integer') }),
  z.object({ type: z.literal('float'), value: z.number() }),
  z.object({ type: z.literal('text'), value: z.string() }),
  z.object({ type: z.literal('blob'), base64: z.string() }),
]);

const sqlIdSchema = z.number().int();

const stmtSchema = z.object({
  sql: z.string().nullish(),
  sql_id: sqlIdSchema.nullish(),
  args: z.array(valueSchema).default([]),
  named_args: z.array(z.object({ name: z.string(), value: valueSchema })).default([]),
  want_rows: z.boolean().default(true),
});
export type WireStmt = z.infer<typeof stmtSchema>;

export type BatchCond =
  | { type: 'ok'; step: number }
  | { type: 'error'; step: number }
  | { type: 'not'; cond: BatchCond }
  | { type: 'and'; conds: BatchCond[] }
  | { type: 'or'; conds: BatchCond[] }
  | { type: 'is_autocommit' };

const stepIndexSchema = z.number().int().nonnegative();
const batchCondSchema: z.ZodType<BatchCond> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('ok'), step: stepIndexSchema }),
    z.object({ type: z.literal('error'), step: stepIndexSchema }),
    z.object({ type: z.literal('not'), cond: batchCondSchema }),
    z.object({ type: z.literal('and'), conds: z.array(batchCondSchema) }),
    z.object({ type: z.literal('or'), conds: z.array(batchCondSchema) }),
    z.object({ type: z.literal('is_autocommit') }),
  ]),
);

const batchSchema = z.object({
  steps: z.array(z.object({ condition: batchCondSchema.nullish(), stmt: stmtSchema })),
});
export type WireBatch = z.infer<typeof batchSchema>;

const sqlSourceFields = { sql: z.string().nullish(), sql_id: sqlIdSchema.nullish() };

const streamRequestSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('close') }),
  z.object({ type: z.literal('execute'), stmt: stmtSchema }),
  z.object({ type: z.literal('batch'), batch: batchSchema }),
  z.object({ type: z.literal('sequence'), ...sqlSourceFields }),
  z.object({ type: z.literal('describe'), ...sqlSourceFields }),
  z.object({ type: z.literal('store_sql'), sql_id: sqlIdSchema, sql: z.string() }),
  z.object({ type: z.literal('close_sql'), sql_id: sqlIdSchema }),
  z.object({ type: z.literal('get_autocommit') }),
]);
export type StreamRequest = z.infer<typeof streamRequestSchema>;

/** Requests stay unparsed here so one malformed request fails alone, in its own result slot. */
const pipelineRequestBodySchema = z.object({
  baton: z.string().nullish(),
  requests: z.array(z.unknown()),
});
export type PipelineRequestBody = z.infer<typeof pipelineRequestBodySchema>;

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; message: string };

function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): ParseOutcome<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, message: `Invalid ${what}: ${z.prettifyError(parsed.error)}` };
}

export const parsePipelineRequestBody = (input: unknown): ParseOutcome<PipelineRequestBody> =>
  parseWith(pipelineRequestBodySchema, input, 'pipeline request body');

export const parseStreamRequest = (input: unknown): ParseOutcome<StreamRequest> =>
  parseWith(streamRequestSchema, input, 'stream request');

export interface WireError {
  message: string;
  code: string;
}

export interface WireCol {
  name: string | null;
  decltype: string | null;
}

export interface WireStmtResult {
  cols: WireCol[];
  rows: WireValue[][];
  affected_row_count: number;
  /** A 64-bit signed integer as a decimal string; null when the statement inserted nothing. */
  last_insert_rowid: string | null;
  query_duration_ms: number;
}

export interface WireBatchResult {
  step_results: Array<WireStmtResult | null>;
  step_errors: Array<WireError | null>;
}

export interface WireDescribeResult {
  params: Array<{ name: string | null }>;
  cols: Array<{ name: string; decltype: string | null }>;
  is_explain: boolean;
  is_readonly: boolean;
}

export type StreamResponse =
  | { type: 'close' }
  | { type: 'execute'; result: WireStmtResult }
  | { type: 'batch'; result: WireBatchResult }
  | { type: 'sequence' }
  | { type: 'describe'; result: WireDescribeResult }
  | { type: 'store_sql' }
  | { type: 'close_sql' }
  | { type: 'get_autocommit'; is_autocommit: boolean };

export type StreamResult = { type: 'ok'; response: StreamResponse } | { type: 'error'; error: WireError };

export interface PipelineResponseBody {
  /** Null once the stream is closed; otherwise the one value that may continue it. */
  baton: string | null;
  base_url: string | null;
  results: StreamResult[];
}
