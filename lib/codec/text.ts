/**
 * Text rules shared by decoding and encoding: UTF-8 validity and the shape of
 * topic names, topic filters and short topic names. Pure functions over bytes.
 */

/** utf8Kind() results. */
export const UTF8_INVALID = -1;
export const UTF8_ASCII = 0;
export const UTF8_MULTIBYTE = 1;

/**
 * Classifies bytes [start, end): UTF8_INVALID unless well-formed UTF-8 (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF), else UTF8_ASCII when every
 * octet is below 0x80 (the cheap string path), else UTF8_MULTIBYTE.
 */
export function utf8Kind(bytes: Uint8Array, start: number, end: number): number {
  let kind = UTF8_ASCII;
  let i = start;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    kind = UTF8_MULTIBYTE;
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return UTF8_INVALID;
    // fewer continuation octets left than the lead octet announces
    if (i + need >= end) return UTF8_INVALID;
    const second = bytes[i + 1];
    if (second < lo || second > hi) return UTF8_INVALID;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k];
      if (c < 0x80 || c > 0xbf) return UTF8_INVALID;
    }
    i += need + 1;
  }
  return kind;
}

/** Buffer's own slicers: the same as toString(encoding, s, e) without the argument juggling. */
interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** The text of bytes [start, end), already validated as UTF-8; all-ASCII text takes the cheaper latin1 path. */
export function sliceText(buf: Buffer, start: number, end: number, ascii: boolean): string {
  const b = buf as unknown as Slicers;
  return ascii ? b.latin1Slice(start, end) : b.utf8Slice(start, end);
}

const NUL = 0x00;
const PLUS = 0x2b;
const HASH = 0x23;
const SLASH = 0x2f;

/**
 * Topic text as decoding checks it (REGISTER and WILLTOPIC names, SUBSCRIBE and
 * UNSUBSCRIBE filters): present and free of U+0000. Where '+' and '#' may stand
 * is a topic rule for the protocol layer to answer (REGACK, SUBACK, ...), not a
 * reason to drop the datagram.
 */
export function isTopicText(bytes: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    if (bytes[i] === NUL) return false;
  }
  return true;
}

/** One octet of a short topic name: a printable or control ASCII character other than NUL. */
export function isShortTopicOctet(b: number): boolean {
  return b >= 0x01 && b <= 0x7f;
}

/**
 * UTF-8 byte length of a JavaScript string, or -1 when it holds a lone
 * surrogate (such a string has no UTF-8 form).
 */
export function utf8Length(str: string): number {
  let bytes = 0;
  const n = str.length;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else if (c <= 0xdbff && i + 1 < n) {
      const d = str.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      bytes += 4;
      i++;
    } else return -1;
  }
  return bytes;
}

/** A topic name as encoding checks it (REGISTER, WILLTOPIC): not empty, no U+0000, no wildcard characters. */
export function isValidTopicNameString(str: string): boolean {
  if (str.length === 0) return false;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c === NUL || c === PLUS || c === HASH) return false;
  }
  return true;
}

/** A topic filter as encoding checks it (SUBSCRIBE, UNSUBSCRIBE): not empty, no U+0000, '+' a whole level, '#' a whole last level. */
export function isValidTopicFilterString(str: string): boolean {
  const n = str.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c === NUL) return false;
    if (c === PLUS || c === HASH) {
      if (i > 0 && str.charCodeAt(i - 1) !== SLASH) return false;
      if (c === HASH && i !== n - 1) return false;
      if (c === PLUS && i + 1 < n && str.charCodeAt(i + 1) !== SLASH) return false;
    }
  }
  return true;
}

/** A short topic name: exactly two characters, each 0x01-0x7F. */
export function isValidShortTopicString(str: string): boolean {
  return str.length === 2 && isShortTopicOctet(str.charCodeAt(0)) && isShortTopicOctet(str.charCodeAt(1));
}
