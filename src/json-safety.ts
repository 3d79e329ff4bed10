/**
 * Untrusted JSON and text, before they reach PostgreSQL: nesting depth is checked on the raw text
 * (a 400k-deep array must not reach JSON.parse or JSON.stringify, whose recursion ends in a 500),
 * and NUL characters (which PostgreSQL cannot store in text or jsonb) are refused in JSON bodies
 * and removed from the booth's text fields and file names.
 */
import { AppError } from './errors.js';

/** Deepest nesting accepted in a JSON body (admin bodies are a few levels deep). */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of JSON text, counted without parsing (brackets inside strings are skipped). */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
      if (max > stopAbove) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** Whether any string (or key) in a parsed JSON value contains U+0000. */
export function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\0')) return true;
    } else if (Array.isArray(v)) {
      // One at a time: spreading a 200k-element array into push() overflows the call stack.
      for (const x of v) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\0')) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

/** Parses an untrusted JSON body: 400 invalid_request when too deep, malformed or holding a NUL. */
export function parseUntrustedJson(
  text: string,
  parse: (text: string) => unknown = JSON.parse,
  maxDepth = MAX_JSON_DEPTH,
): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth)
    throw new AppError('invalid_request', `The JSON body is nested deeper than ${maxDepth} levels`);
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new AppError('invalid_request', `The body is not valid JSON: ${(err as Error).message}`);
  }
  let nul: boolean;
  try {
    nul = containsNul(value);
  } catch {
    throw new AppError('invalid_request', 'The JSON body cannot be checked');
  }
  if (nul) throw new AppError('invalid_request', 'Text in the body must not contain NUL (U+0000) characters');
  return value;
}

/** Text from a booth (fields, file names): NUL characters removed. */
export function withoutNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '') : text;
}

/**
 * A stranger's text as stored (a booth's name, a header, a part's name): control characters
 * removed (PostgreSQL refuses NUL), a lone surrogate replaced (jsonb refuses it), cut to `max`
 * characters (code points, as SQL's left(), so a cut never splits one).
 */
export function storedText(value: string, max: number): string {
  const wellFormed = value
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return Array.from(wellFormed).slice(0, max).join('');
}
