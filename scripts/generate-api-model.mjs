#!/usr/bin/env node
/**
 * Distils the ECS API model (the wire contract) into what request validation needs:
 * each operation's input shape, and every shape reachable from an input shape, without
 * documentation. The output is committed so the control plane (Node and Workers alike)
 * imports plain JSON and never reads the 850 KB source model at runtime.
 *
 *   node scripts/generate-api-model.mjs           # rewrite the JSON
 *   node scripts/generate-api-model.mjs --check   # exit 1 if the committed JSON is stale
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withAdditions } from './api-model-additions.mjs';

// The model is kept in the repository (botocore's file, verbatim) so a clone generates and tests on its own;
// worker/api/model/source/README.md says where it comes from and how to update it.
const SOURCE_LABEL = 'worker/api/model/source/ecs-2014-11-13.service.json';
const SOURCE_URL = new URL(`../${SOURCE_LABEL}`, import.meta.url);
const OUTPUT_URL = new URL('../worker/api/model/ecs-model.generated.json', import.meta.url);

/** The shape fields validation reads; everything else (documentation, box, pattern, ...) is dropped. */
const KEPT_SCALAR_FIELDS = ['type', 'required', 'enum', 'min', 'max', 'document'];

function stripShape(shape) {
  const stripped = {};
  for (const field of KEPT_SCALAR_FIELDS) if (shape[field] !== undefined) stripped[field] = shape[field];
  if (shape.members) {
    stripped.members = {};
    for (const [name, member] of Object.entries(shape.members))
      stripped.members[name] = { shape: member.shape };
  }
  for (const ref of ['member', 'key', 'value']) if (shape[ref]) stripped[ref] = { shape: shape[ref].shape };
  return stripped;
}

function referencedShapes(shape) {
  const names = Object.values(shape.members ?? {}).map((member) => member.shape);
  for (const ref of ['member', 'key', 'value']) if (shape[ref]) names.push(shape[ref].shape);
  return names;
}

/** Object keys sorted at every depth; arrays keep their order (an enum's order is the model's). */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

function distil(service) {
  const operations = {};
  const pending = [];
  for (const [name, operation] of Object.entries(service.operations)) {
    operations[name] = operation.input ? { input: operation.input.shape } : {};
    if (operation.input) pending.push(operation.input.shape);
  }
  const shapes = {};
  while (pending.length > 0) {
    const name = pending.pop();
    if (shapes[name]) continue;
    const shape = service.shapes[name];
    if (!shape) throw new Error(`shape ${name} is referenced but not defined in ${SOURCE_LABEL}`);
    shapes[name] = stripShape(shape);
    pending.push(...referencedShapes(shape));
  }
  return sortKeys({
    _generatedBy: 'scripts/generate-api-model.mjs',
    _source: SOURCE_LABEL,
    apiVersion: service.metadata.apiVersion,
    operations,
    shapes,
  });
}

const service = withAdditions(JSON.parse(readFileSync(SOURCE_URL, 'utf8')));
const model = distil(service);
const text = `${JSON.stringify(model, null, 2)}\n`;
const outputPath = fileURLToPath(OUTPUT_URL);
if (process.argv.includes('--check')) {
  const current = existsSync(OUTPUT_URL) ? readFileSync(OUTPUT_URL, 'utf8') : '';
  if (current !== text) {
    console.error(`${outputPath} is stale; run node scripts/generate-api-model.mjs`);
    process.exit(1);
  }
  console.log(`${outputPath} is up to date`);
} else {
  writeFileSync(OUTPUT_URL, text);
  console.log(
    `wrote ${outputPath}: ${Object.keys(model.operations).length} operations, ` +
      `${Object.keys(model.shapes).length} shapes`,
  );
}
