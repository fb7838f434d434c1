/**
 * Turns a cluster query argument into the forms its comparisons need, once, at parse time:
 * a number for counts and numeric attributes, and an instant range for `registeredAt`.
 */
import type { ComparisonOperator, QuerySubject } from './cluster-query-syntax';

export interface ParsedArgument {
  text: string;
  /** NaN unless the text is a decimal number. */
  number: number;
  /** For registeredAt: the instants the text names; a bare date names its whole UTC day. */
  startMs: number;
  endMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DECIMAL = /^-?\d+(\.\d+)?$/;
/** The formats the ECS guide lists, plus fractional seconds; no zone means UTC. */
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?)?$/;

function parseDateRange(text: string): { startMs: number; endMs: number } | null {
  const match = DATE.exec(text);
  if (!match) return null;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const dayStartMs = Date.UTC(Number(year), Number(month) - 1, Number(day));
  // Date.UTC rolls 2018-02-30 over to March; a date that doesn't round-trip doesn't exist.
  const dayStart = new Date(dayStartMs);
  const isRealDay =
    dayStart.getUTCFullYear() === Number(year) &&
    dayStart.getUTCMonth() === Number(month) - 1 &&
    dayStart.getUTCDate() === Number(day);
  if (!isRealDay) return null;
  if (hour === undefined) return { startMs: dayStartMs, endMs: dayStartMs + DAY_MS - 1 };
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  const instantMs = Date.parse(
    `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction ?? ''}${zone ?? 'Z'}`,
  );
  return Number.isNaN(instantMs) ? null : { startMs: instantMs, endMs: instantMs };
}

/** Returns the parsed argument, or the problem with it as a message fragment. */
export function parseArgument(
  subject: QuerySubject['kind'],
  operator: ComparisonOperator,
  text: string,
): ParsedArgument | string {
  const number = DECIMAL.test(text) ? Number(text) : Number.NaN;
  const argument: ParsedArgument = { text, number, startMs: Number.NaN, endMs: Number.NaN };
  if (subject === 'runningTasksCount' && !/^\d+$/.test(text))
    return `expected a whole number but found '${text}'`;
  if (subject === 'registeredAt') {
    const range = parseDateRange(text);
    if (!range) return `expected a date like 2018-06-18 or 2018-06-18T22:28:28Z but found '${text}'`;
    argument.startMs = range.startMs;
    argument.endMs = range.endMs;
  }
  const isBooleanComparison = operator !== 'matches' && operator !== 'not_matches';
  if (subject === 'agentConnected' && isBooleanComparison && !/^(true|false)$/i.test(text)) {
    return `expected true or false but found '${text}'`;
  }
  return argument;
}
