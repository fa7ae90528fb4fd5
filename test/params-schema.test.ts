/**
 * The kinds' declarations are the one source of their params: the committed
 * pipeline.schema.json is generated from them (`npm run schema`), the build
 * precompiles their validators, and the kinds' own readers agree with the
 * engine's check on every value.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { AJV_OPTIONS, validatorName } from '../engine/params-check.js';
import { builtinParams, editorSchema, shapeSchema } from '../engine/params-schema.js';
import type { ParamValue } from '../engine/stage-api.js';
import { builtinKinds } from '../stages/index.js';
import { readParams, type Declared, type Param } from '../stages/lib/params.js';
import { repoRoot } from './util/paths.js';

const require = createRequire(import.meta.url);
type Validate = ((d: unknown) => boolean) & { errors?: unknown[] | null };
const Ajv = require('ajv') as new (o: object) => { compile(s: object): Validate };
const committed = JSON.parse(readFileSync(join(repoRoot, 'pipeline.schema.json'), 'utf8')) as object;
const kinds = await builtinParams(builtinKinds);

test('every built-in kind declares its params: typed, described, with defaults, no others', () => {
  assert.deepEqual(kinds.map((k) => k.name), [...builtinKinds.names()]);
  for (const k of kinds) {
    assert.equal(k.params.additionalProperties, false, k.name);
    for (const [name, s] of Object.entries(k.params.properties)) {
      assert.ok(s.description.length > 10, `${k.name}.${name} has a description`);
      assert.notEqual(s.default, undefined, `${k.name}.${name} has a default`);
      assert.notEqual(s['type'], undefined, `${k.name}.${name} has a type`);
    }
  }
});

test('the committed pipeline.schema.json is generated from the declarations (else: npm run schema)', () => {
  assert.deepEqual(committed, editorSchema(committed, kinds));
});

test('editors see each kind\'s params: the shipped pipelines pass, a misspelt param does not; the engine\'s shape check leaves params to the contract', () => {
  const editor = new Ajv({ allErrors: true, strict: false }).compile(committed);
  const shape = new Ajv({ allErrors: true, strict: false }).compile(shapeSchema(committed));
  for (const file of ['pipeline.yaml', 'pipeline.kaggle.yaml']) {
    const doc = parse(readFileSync(join(repoRoot, file), 'utf8')) as { stages: Record<string, { params?: Record<string, unknown> }> };
    assert.equal(editor(doc), true, `${file}: ${JSON.stringify(editor.errors)}`);
    const gate = doc.stages['gate'];
    assert.ok(gate?.params);
    gate.params['min_pixel'] = 100;
    assert.equal(editor(doc), false, file);
    assert.equal(shape(doc), true, file);
  }
});

test('the build precompiled a validator for every declaration', () => {
  const compiled = require(join(repoRoot, 'dist', 'engine', 'params-validate.cjs')) as Record<string, Validate>;
  for (const k of kinds) assert.equal(typeof compiled[validatorName(k.params)], 'function', k.name);
});

test('a kind\'s reader accepts exactly the values the engine accepts', () => {
  const probes: ParamValue[] = [null, true, 'x', '', -1, 0, 0.5, 1, 1.5, 9, 1e6, [], [0], [2, 3], {}];
  let checked = 0;
  for (const k of kinds) {
    const validate = new Ajv(AJV_OPTIONS).compile(structuredClone(k.params));
    for (const [name, s] of Object.entries(k.params.properties)) {
      for (const v of [s.default as ParamValue, ...probes]) {
        const engine = validate({ [name]: structuredClone(v) });
        let reader = true;
        try {
          readParams(k.params as Declared<Record<string, Param<unknown>>>, { [name]: v });
        } catch {
          reader = false;
        }
        assert.equal(reader, engine, `${k.name}.${name} = ${JSON.stringify(v)}: reader ${reader}, engine ${engine}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500);
});
