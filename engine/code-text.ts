/**
 * The text of a JavaScript or TypeScript module as the code fingerprint sees
 * it: comments removed, each run of whitespace between tokens reduced to one
 * space, or one newline when it held a line break (a line break can matter:
 * `return` followed by one returns nothing). Strings, template literals and
 * regular expression literals are kept byte for byte.
 *
 * So editing a comment, re-indenting, or adding blank lines leaves a stage's
 * key alone; editing code, or the spacing inside a string, changes it. A
 * small lexer rather than a parser: it decides whether `/` starts a regular
 * expression from the token before it, as JavaScript's grammar does nearly
 * always (test/fingerprint.test.ts checks it against TypeScript's parser on
 * every module of the project). It needs no dependency, so the fingerprint of
 * the same file is the same on every install.
 */

/** Words after which `/` starts a regular expression, not a division. */
const BEFORE_EXPRESSION = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await', 'extends',
]);
const NEWLINE = /[\n\r\u2028\u2029]/;

// Character classes by code: 1 space, 2 line break, 3 word (identifier, number, `\`).
const ASCII = new Uint8Array(128);
for (const c of ' \t\v\f') ASCII[c.charCodeAt(0)] = 1;
for (const c of '\n\r') ASCII[c.charCodeAt(0)] = 2;
for (let c = 0; c < 128; c++) if (/[\w$\\]/.test(String.fromCharCode(c))) ASCII[c] = 3;

function classOf(code: number): number {
  if (code < 128) return ASCII[code] as number;
  if (code === 0x2028 || code === 0x2029) return 2;
  return /[\s\uFEFF]/.test(String.fromCharCode(code)) ? 1 : 3;
}

/** `src` without comments, whitespace between tokens normalised (see the module comment). */
export function codeText(src: string): string {
  // The output is the source's own text between runs of whitespace and comments
  // (copied a segment at a time), each run replaced by its gap: ' ' or '\n'.
  const out: string[] = [];
  const n = src.length;
  let segStart = 0;
  let gap = '';
  // What came last, for `/`: 0 punctuator (regex may follow), 1 `)` `]` literal (division), 2 word.
  let last = 0;
  let wordStart = 0;
  const templates: number[] = []; // open `${` depth of each template literal we are inside
  let i = 0;
  if (src.startsWith('#!')) while (i < n && classOf(src.charCodeAt(i)) !== 2) i++;
  while (i < n) {
    const code = src.charCodeAt(i);
    const cls = classOf(code);
    const next = src.charCodeAt(i + 1);
    if (cls === 1 || cls === 2 || (code === 47 /* / */ && (next === 47 || next === 42 /* * */))) {
      if (i > segStart) {
        if (gap !== '' && out.length > 0) out.push(gap);
        out.push(src.slice(segStart, i));
        gap = '';
      }
      // Skip the run of whitespace and comments, noting whether it breaks a line.
      for (;;) {
        const c = src.charCodeAt(i);
        const k = classOf(c);
        if (k === 2) {
          gap = '\n';
          i++;
        } else if (k === 1) {
          if (gap === '') gap = ' ';
          i++;
        } else if (c === 47 && src.charCodeAt(i + 1) === 47) {
          while (i < n && classOf(src.charCodeAt(i)) !== 2) i++;
          if (gap === '') gap = ' ';
        } else if (c === 47 && src.charCodeAt(i + 1) === 42) {
          const end = src.indexOf('*/', i + 2);
          const stop = end < 0 ? n : end + 2;
          if (NEWLINE.test(src.slice(i, stop))) gap = '\n';
          else if (gap === '') gap = ' ';
          i = stop;
        } else break;
        if (i >= n) break;
      }
      segStart = i;
    } else if (code === 34 || code === 39 /* " ' */) {
      let j = i + 1;
      while (j < n) {
        const ch = src.charCodeAt(j);
        if (ch === code || classOf(ch) === 2) break;
        j += ch === 92 /* \\ */ ? 2 : 1;
      }
      i = j + 1;
      last = 1;
    } else if (code === 96 /* ` */ || (code === 125 /* } */ && templates.length > 0 && templates[templates.length - 1] === 0)) {
      if (code === 125) templates.pop();
      i = templateChunk(src, i + 1, templates);
      last = src.charCodeAt(i - 1) === 123 /* { */ ? 0 : 1;
    } else if (code === 47 && regexAllowed(src, last, wordStart, i) && regexEnd(src, i) > 0) {
      i = regexEnd(src, i);
      while (i < n && classOf(src.charCodeAt(i)) === 3) i++;
      last = 1;
    } else if (cls === 3) {
      wordStart = i;
      i++;
      while (i < n && classOf(src.charCodeAt(i)) === 3) i++;
      last = 2;
    } else {
      if (templates.length > 0) {
        const top = templates.length - 1;
        if (code === 123) templates[top] = (templates[top] as number) + 1;
        else if (code === 125) templates[top] = (templates[top] as number) - 1;
      }
      // After `)` or `]` a `/` divides; after any other punctuator it starts a regex
      // (`}` included: a block's end is far more common before a regex than an object's).
      last = code === 41 || code === 93 ? 1 : 0;
      i++;
    }
  }
  if (n > segStart) {
    if (gap !== '' && out.length > 0) out.push(gap);
    out.push(src.slice(segStart, n));
  }
  return out.join('');
}

/** Whether a `/` at `i` may start a regular expression, given what came before it. */
function regexAllowed(src: string, last: number, wordStart: number, i: number): boolean {
  if (last === 0) return true;
  if (last === 1) return false;
  // A word: only a keyword that expects an expression lets a regex follow.
  let end = i;
  while (end > wordStart && classOf(src.charCodeAt(end - 1)) !== 3) end--;
  return BEFORE_EXPRESSION.has(src.slice(wordStart, end));
}

/** The rest of a template literal from `start` (just after ` or }): to after the closing ` or the next `${`. */
function templateChunk(src: string, start: number, templates: number[]): number {
  let j = start;
  while (j < src.length) {
    const ch = src.charCodeAt(j);
    if (ch === 92) j += 2;
    else if (ch === 96) return j + 1;
    else if (ch === 36 /* $ */ && src.charCodeAt(j + 1) === 123) {
      templates.push(0);
      return j + 2;
    } else j++;
  }
  return j;
}

/** The index after the regular expression literal starting at `i`, or 0 when none closes on its line (then `/` divides). */
function regexEnd(src: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < src.length; j++) {
    const ch = src.charCodeAt(j);
    if (classOf(ch) === 2) return 0;
    if (ch === 92) j++;
    else if (ch === 91 /* [ */) inClass = true;
    else if (ch === 93 /* ] */) inClass = false;
    else if (ch === 47 && !inClass) return j + 1;
  }
  return 0;
}
