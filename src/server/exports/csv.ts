/**
 * CSV as spreadsheets read it: RFC 4180 (CRLF between records; a field holding a comma, a quote,
 * CR or LF is quoted, its quotes doubled), UTF-8 with a byte-order mark so Excel reads Chinese
 * text as UTF-8, and no cell a spreadsheet would run as a formula.
 *
 * Quoting is csv-stringify's (the `csv` project's stringifier, maintained and widely used, and a
 * streaming library: a Node Transform stream, with a synchronous API over the same code). We call its synchronous API once per Polyv page: a page
 * is the unit that arrives, so the export's memory is one page's text whichever API is used,
 * and one call per page keeps the backpressure in one place (the response, see index.ts)
 * instead of a second stream in between. Two of its options matter here:
 *
 * - `record_delimiter: 'windows'` (CRLF, as RFC 4180 says) turns off, unless asked for again,
 *   the quoting of fields that hold a lone LF or CR (`quote_record_delimiter`); a nickname with
 *   a line break would then split its row. We ask for it again.
 * - Its own `escape_formulas` prefixes the quote but leaves the cell unquoted unless it needs
 *   quotes anyway, and would prefix our negative amounts written as text. So formulas are
 *   neutralised here, per column: only text that came from outside (nicknames, labels, ids) is,
 *   never the numbers and times we write ourselves; and every neutralised cell is quoted
 *   (`quoted_match`), as OWASP's CSV-injection guidance asks.
 *
 * OWASP (https://owasp.org/www-community/attacks/CSV_Injection): a cell that starts with `=`,
 * `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice or Google
 * Sheets; prefix it with a single quote (shown as text, not run) and quote the cell. The
 * full-width forms (＝ ＋ － ＠), which some spreadsheets normalise to the ASCII ones, are
 * treated alike.
 */
import { stringify, type Options } from 'csv-stringify/sync';

/** The first characters that make a spreadsheet read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** Text from outside as a cell no spreadsheet runs: a formula's start gets a leading `'`. */
export const neutralise = (text: string): string => (FORMULA_START.test(text) ? `'${text}` : text);

const OPTIONS: Options = {
  record_delimiter: 'windows',
  quote_record_delimiter: true,
  // A neutralised cell starts with the quote neutralise() put there: always quoted.
  quoted_match: /^'/,
  escape_formulas: false,
};

/** One cell: text (neutralised), or empty for a value Polyv did not give. */
export type Cell = string | null;

/** The byte-order mark and the header row. */
export const csvHeader = (headers: readonly string[]): string =>
  stringify([[...headers]], { ...OPTIONS, bom: true });

/** Rows as CSV records, each ending in CRLF (empty for no rows). */
export const csvRows = (rows: readonly (readonly Cell[])[]): string =>
  rows.length === 0 ? '' : stringify(rows as Cell[][], OPTIONS);
