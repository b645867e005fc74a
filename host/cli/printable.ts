/**
 * Text from recordings (topics, file ids, reasons) reaches an operator's terminal.
 * A topic is whatever the meeting's host typed, so it may hold escape sequences that
 * clear the screen, fake output or retitle the window, or bidi controls that reorder
 * what is shown. Every human output goes through these functions, which show such
 * characters as visible escapes (`\x1b`, `\u202e`) instead of sending them raw.
 */

// C0 controls but tab and newline, DEL, C1 controls, and the bidi and invisible format
// characters that change how the rest of a line is displayed.
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const UNSAFE_IN_CELLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

function escape(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For multi-line output (tables, summaries): keeps newlines and tabs, escapes every other control. */
export function printableLines(text: string): string {
  return text.replace(UNSAFE_IN_LINES, escape);
}

/** For one value on one line (a table cell, a topic): newlines and tabs are escaped too. */
export function printable(text: string): string {
  return text.replace(UNSAFE_IN_CELLS, escape);
}
