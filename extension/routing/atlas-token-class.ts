// Token classes for the routing atlas: what kind of text a token piece is, from its text alone. Pure.
//
// Rules, first match wins (the piece's leading spaces are "the word's space" as SentencePiece/BPE write it):
//   newline      the piece holds a line break (\n or \r)
//   whitespace   only spaces or tabs (indentation)
//   digits       optional leading space, then digits only
//   punctuation  optional leading space, then no letter or digit at all (operators, brackets, quotes, …)
//   identifier   letters with a digit, an underscore, or a lower→upper case change inside (snake_case, camelCase, x2)
//   capitalised  optional leading space, then an upper-case letter first, then letters only
//   word-start   a leading space, then letters only
//   word-continuation  letters only, no leading space (the middle or end of a word)
//   other        anything else: mixed pieces, and "" (a byte of a character another token completes)

export const TOKEN_CLASSES = [
  'newline',
  'whitespace',
  'digits',
  'punctuation',
  'identifier',
  'capitalised',
  'word-start',
  'word-continuation',
  'other',
] as const;

export type TokenClass = (typeof TOKEN_CLASSES)[number];

/** The index in TOKEN_CLASSES of a token piece's class. */
export function tokenClassIndex(piece: string): number {
  return TOKEN_CLASSES.indexOf(tokenClass(piece));
}

export function tokenClass(piece: string): TokenClass {
  if (piece === '') return 'other';
  if (/[\r\n]/.test(piece)) return 'newline';
  if (/^[ \t]+$/.test(piece)) return 'whitespace';
  const body = piece.replace(/^ +/, '');
  const spaced = body.length < piece.length;
  if (/^\p{Nd}+$/u.test(body)) return 'digits';
  if (!/[\p{L}\p{N}]/u.test(body)) return 'punctuation';
  if (/^[\p{L}\p{N}_]+$/u.test(body) && /\p{L}/u.test(body) && (/[\p{N}_]/u.test(body) || /\p{Ll}\p{Lu}/u.test(body))) return 'identifier';
  if (/^\p{L}+$/u.test(body)) {
    if (/^\p{Lu}/u.test(body)) return 'capitalised';
    return spaced ? 'word-start' : 'word-continuation';
  }
  return 'other';
}
