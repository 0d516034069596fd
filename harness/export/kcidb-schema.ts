// The part of KernelCI's KCIDB I/O schema v5 that daxlab emits, as a JSON Schema (2020-12),
// written from the KCIDB documentation and the kcidb-io schema's rules: every id is
// `ORIGIN:REST` with ORIGIN of lower-case letters, digits and `_`; no string may hold NUL (misc
// excepted); test paths are dot-separated names; statuses are FAIL ERROR MISS PASS DONE SKIP.
// Objects are closed (additionalProperties false) as in KCIDB, so a field daxlab misspells or
// KCIDB does not know fails here, not at the receiving end. Fields daxlab never sets are left out.
//
// Version: issues and incidents came in with v4.1, so every v5 minor has them; 5.1 added
// checkout finish times, 5.2 issue categories, 5.3 test input files, none of which daxlab sets.
// The report says minor 0, the oldest v5 a receiver can be, which every v5 receiver accepts.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { KCIDB_VERSION } from './kcidb.ts';

export { KCIDB_VERSION };

const ORIGIN = '[a-z0-9_]+';
const noNul = { type: 'string', pattern: '^[^\\u0000]*$' } as const;
const id = { type: 'string', pattern: `^${ORIGIN}:[^\\u0000]*$` } as const;
const time = { type: 'string', format: 'date-time' } as const;
const origin = { type: 'string', pattern: `^${ORIGIN}$` } as const;
const misc = { type: 'object' } as const;

export const KCIDB_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://daxlab.invalid/kcidb-v5.0-subset.json',
  title: 'KCIDB v5 report as daxlab writes it',
  type: 'object',
  $defs: {
    status: { enum: ['FAIL', 'ERROR', 'MISS', 'PASS', 'DONE', 'SKIP'] },
    checkout: {
      type: 'object',
      properties: {
        id,
        origin,
        tree_name: noNul,
        git_repository_url: { type: 'string', format: 'uri', pattern: '^https://[^\\u0000]*$' },
        git_commit_hash: { type: 'string', pattern: '^[0-9a-f]{40}$' },
        git_commit_name: noNul,
        // sha256 over the newline-terminated sha256 of each patch, in order; '' for none.
        patchset_hash: { type: 'string', pattern: '^$|^[0-9a-f]{64}$' },
        comment: noNul,
        valid: { type: 'boolean' },
        misc,
      },
      required: ['id', 'origin'],
      additionalProperties: false,
    },
    build: {
      type: 'object',
      properties: {
        id,
        checkout_id: id,
        origin,
        comment: noNul,
        start_time: time,
        duration: { type: 'number', minimum: 0 },
        architecture: { type: 'string', pattern: '^[a-z0-9_]*$' },
        config_name: noNul,
        status: { $ref: '#/$defs/status' },
        misc,
      },
      required: ['id', 'checkout_id', 'origin'],
      additionalProperties: false,
    },
    test: {
      type: 'object',
      properties: {
        id,
        build_id: id,
        origin,
        path: { type: 'string', pattern: '^([a-zA-Z0-9_-]+(\\.[a-zA-Z0-9_-]+)*)?$' },
        comment: noNul,
        status: { $ref: '#/$defs/status' },
        start_time: time,
        duration: { type: 'number', minimum: 0 },
        log_excerpt: { ...noNul, maxLength: 16384 },
        environment: {
          type: 'object',
          properties: { comment: noNul, misc },
          additionalProperties: false,
        },
        number: {
          type: 'object',
          properties: {
            value: { type: 'number' },
            unit: noNul,
            prefix: { enum: ['metric', 'binary'] },
          },
          required: ['value'],
          additionalProperties: false,
        },
        misc,
      },
      required: ['id', 'build_id', 'origin'],
      additionalProperties: false,
    },
    issue: {
      type: 'object',
      properties: {
        id,
        version: { type: 'integer', minimum: 0 },
        origin,
        report_subject: noNul,
        culprit: {
          type: 'object',
          properties: { code: { type: 'boolean' }, tool: { type: 'boolean' }, harness: { type: 'boolean' } },
          additionalProperties: false,
        },
        comment: noNul,
        misc,
      },
      required: ['id', 'version', 'origin'],
      additionalProperties: false,
    },
    incident: {
      type: 'object',
      properties: {
        id,
        origin,
        issue_id: id,
        issue_version: { type: 'integer', minimum: 0 },
        build_id: id,
        test_id: id,
        present: { type: 'boolean' },
        comment: noNul,
        misc,
      },
      required: ['id', 'origin', 'issue_id', 'issue_version'],
      additionalProperties: false,
    },
  },
  properties: {
    version: {
      type: 'object',
      properties: {
        major: { const: KCIDB_VERSION.major },
        minor: { type: 'integer', minimum: 0, maximum: KCIDB_VERSION.minor },
      },
      required: ['major'],
      additionalProperties: false,
    },
    checkouts: { type: 'array', items: { $ref: '#/$defs/checkout' } },
    builds: { type: 'array', items: { $ref: '#/$defs/build' } },
    tests: { type: 'array', items: { $ref: '#/$defs/test' } },
    issues: { type: 'array', items: { $ref: '#/$defs/issue' } },
    incidents: { type: 'array', items: { $ref: '#/$defs/incident' } },
  },
  required: ['version'],
  additionalProperties: false,
} as const;

let validator: ValidateFunction | undefined;

/**
 * The first place `report` breaks the schema, as `/tests/3/path: must match pattern ...`, or
 * undefined when it conforms. daxlab builds the report, so a failure here is a daxlab bug.
 */
export function kcidbSchemaError(report: unknown): string | undefined {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: false, strict: true });
    // ajv-formats is CommonJS: under NodeNext its default import is module.exports, which has .default.
    addFormats.default(ajv, ['date-time', 'uri']);
    validator = ajv.compile(KCIDB_SCHEMA);
  }
  if (validator(report)) return undefined;
  const e = validator.errors?.[0];
  if (!e) return 'does not match the schema';
  const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: unknown }).additionalProperty)})` : '';
  return `${e.instancePath || '/'}: ${e.message ?? e.keyword}${extra}`;
}
