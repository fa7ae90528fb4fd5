/**
 * Writing param values into pipeline.yaml without disturbing it: each value
 * that exists as a scalar is replaced in place, in the source text, so
 * comments, layout, quoting and `${...}` references elsewhere stay byte for
 * byte; a key that does not exist yet is added through yaml's Document API
 * (which keeps comments, though it may re-indent).
 */
import { isMap, isScalar, parseDocument } from 'yaml';
import type { ParamValue } from '../stage-api.js';

/** One edit: a path of keys in the file (e.g. stages.gate.params.min_pixels) and its new value. */
export interface YamlEdit {
  readonly path: readonly string[];
  readonly value: ParamValue;
}

const REF = /\$\{([A-Za-z_][\w.-]*)\}/g;
const HIDDEN = /\$\uE000([^\uE001]*)\uE001/g;

/** The YAML text of a value, safe in block and flow context alike. */
export function valueText(v: ParamValue): string {
  if (typeof v === 'string') return /^[A-Za-z_][\w./-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** The override `a.b.c` as a path in the file: a stage's param, or a global param. */
export function fileParamPath(override: string, stages: ReadonlySet<string>): string[] {
  const [head, ...rest] = override.split('.');
  return head !== undefined && rest.length > 0 && stages.has(head) ? ['stages', head, 'params', ...rest] : ['params', head ?? '', ...rest];
}

/** `text` with `edits` applied; an error message when the text is not valid YAML. */
export function editYaml(text: string, edits: readonly YamlEdit[]): { text: string } | { error: string } {
  // Hide ${...} braces (same length) so flow maps like {out: ${data}} parse, as config.ts does.
  const hidden = text.replace(REF, (_m, name: string) => `$\uE000${name}\uE001`);
  const doc = parseDocument(hidden, { keepSourceTokens: false });
  if (doc.errors.length) return { error: `invalid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}` };
  const splices: { start: number; end: number; text: string }[] = [];
  const added: YamlEdit[] = [];
  for (const e of edits) {
    const node = doc.getIn(e.path, true);
    if (isScalar(node) && node.range && (e.value === null || typeof e.value !== 'object')) {
      splices.push({ start: node.range[0], end: node.range[1], text: valueText(e.value) });
    } else {
      added.push(e);
    }
  }
  if (added.length === 0) {
    let out = text;
    for (const s of splices.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
    return { text: out };
  }
  for (const e of edits) {
    const parent = doc.getIn(e.path.slice(0, -1), true);
    if (parent !== undefined && !isMap(parent)) return { error: `${e.path.slice(0, -1).join('.')} is not a map` };
    doc.setIn(e.path, doc.createNode(e.value));
  }
  return { text: doc.toString({ lineWidth: 0 }).replace(HIDDEN, (_m, name: string) => `\${${name}}`) };
}
