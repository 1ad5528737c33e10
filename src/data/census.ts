// Reader for the UCI Census-Income (KDD) line format (census-income.data / .test and the project's
// census-income.shared.data.gz): no header, 42 fields per line separated by ", ", '?' for a missing value, and the
// income label written with a trailing dot ("- 50000." / "50000+."). gzip input is detected by its magic bytes, so
// plain text reads the same. Portable (no node:*).
//
// Numbering: the file has no header, so "line N" and "data row M" differ only by skipped blank lines; errors give both.

import { makeBatchedRowStream, textLineBatches, type ByteSource, type ParsedRow, type RowStream } from "./source.ts";
import type { Table } from "./table.ts";

/**
 * Column names in file order (fields 1..42 of ../shared/data/census-income-kdd/README.md, the names used by MMoE
 * re-implementations).
 */
export const CENSUS_COLUMNS = [
  "age", "class_worker", "det_ind_code", "det_occ_code", "education", "wage_per_hour", "hs_college", "marital_stat",
  "major_ind_code", "major_occ_code", "race", "hisp_origin", "sex", "union_member", "unemp_reason", "full_or_part_emp",
  "capital_gains", "capital_losses", "stock_dividends", "tax_filer_stat", "region_prev_res", "state_prev_res",
  "det_hh_fam_stat", "det_hh_summ", "instance_weight", "mig_chg_msa", "mig_chg_reg", "mig_move_reg", "mig_same",
  "mig_prev_sunbelt", "num_emp", "fam_under_18", "country_father", "country_mother", "country_self", "citizenship",
  "own_or_self", "vet_question", "vet_benefits", "weeks_worked", "year", "income_50k",
] as const;

export type CensusColumn = (typeof CENSUS_COLUMNS)[number];

/** The columns the README lists as numeric (everything else is categorical, including the numeric-coded ones). */
export const CENSUS_NUMERIC_COLUMNS: readonly CensusColumn[] = [
  "age", "wage_per_hour", "capital_gains", "capital_losses", "stock_dividends", "instance_weight", "num_emp", "weeks_worked",
];

/** The missing-value token of the format. */
export const CENSUS_MISSING = "?";

/** Label values after the trailing dot is stripped (the default). */
export const CENSUS_INCOME_POSITIVE = "50000+";
export const CENSUS_INCOME_NEGATIVE = "- 50000";
/** marital_stat value that defines task 2 of the MMoE benchmark. */
export const CENSUS_NEVER_MARRIED = "Never married";

/** Options of {@link openCensus}. */
export interface CensusOptions {
  /**
   * Strip the trailing "." of the last field (default true): the label then reads "50000+" / "- 50000"
   * (CENSUS_INCOME_POSITIVE / CENSUS_INCOME_NEGATIVE). false keeps the file's "50000+." / "- 50000.".
   */
  stripLabelDot?: boolean;
}

function sliceTrim(s: string, a: number, b: number): string {
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/**
 * Open a census-income source as a RowStream with columns CENSUS_COLUMNS. Each line is split at "," and every field
 * is trimmed of surrounding spaces; '?' is kept as is (map it to missing with the table's `missing` option). Blank
 * lines are skipped. A line with a field count other than 42 throws an Error naming the file, line, data row and counts.
 */
export async function openCensus(source: ByteSource, opts: CensusOptions = {}): Promise<RowStream> {
  const strip = opts.stripLabelDot ?? true;
  const name = source.name;
  const ncol = CENSUS_COLUMNS.length;
  let row = 0;
  const parse = (text: string, line: number): ParsedRow => {
    row++;
    // Split at "," and trim spaces in one pass (one string per field).
    const fields = new Array<string>(ncol);
    let p = 0, j = 0;
    for (; j < ncol - 1; j++) {
      const q = text.indexOf(",", p);
      if (q < 0) break;
      fields[j] = sliceTrim(text, p, q);
      p = q + 1;
    }
    if (j !== ncol - 1 || text.indexOf(",", p) >= 0) {
      throw new Error(
        `${name}: line ${line} (data row ${row}): expected ${ncol} fields separated by ", ", found ${text.split(",").length}` +
          `: ${JSON.stringify(text.length > 120 ? text.slice(0, 117) + "..." : text)}`,
      );
    }
    fields[ncol - 1] = sliceTrim(text, p, text.length);
    if (strip) {
      const last = fields[ncol - 1];
      if (last.endsWith(".")) fields[ncol - 1] = last.slice(0, -1);
    }
    return { fields, row, line };
  };
  // A text chunk's rows together; a bad line: the rows before it first, then the error.
  async function* batches(): AsyncGenerator<ParsedRow[]> {
    for await (const lines of textLineBatches(source)) {
      const out: ParsedRow[] = [];
      for (const { text, line } of lines) {
        if (text.trim() === "") continue;
        try {
          out.push(parse(text, line));
        } catch (e) {
          if (out.length) yield out;
          throw e;
        }
      }
      if (out.length) yield out;
    }
  }
  return makeBatchedRowStream(name, CENSUS_COLUMNS, batches());
}

/**
 * The two binary targets of the MMoE census benchmark (group 1) as 0/1 float64: income = income_50k is "50000+",
 * neverMarried = marital_stat is "Never married". Accepts labels with or without the trailing dot; any other income
 * label throws naming the file, row and value. Remember to drop marital_stat from the inputs (it is task 2's label).
 */
export function censusTargets(table: Table): { income: Float64Array; neverMarried: Float64Array } {
  const inc = table.stringColumn("income_50k");
  const mar = table.stringColumn("marital_stat");
  const n = table.rowCount;
  const income = new Float64Array(n), neverMarried = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inc[i].endsWith(".") ? inc[i].slice(0, -1) : inc[i];
    if (v === CENSUS_INCOME_POSITIVE) income[i] = 1;
    else if (v !== CENSUS_INCOME_NEGATIVE) {
      throw new Error(`${table.name}: data row ${table.dataRow(i)} (line ${table.line(i)}), column "income_50k": unexpected label ${JSON.stringify(inc[i])} (expected "${CENSUS_INCOME_NEGATIVE}" or "${CENSUS_INCOME_POSITIVE}", optionally with a trailing dot)`);
    }
    neverMarried[i] = mar[i] === CENSUS_NEVER_MARRIED ? 1 : 0;
  }
  return { income, neverMarried };
}
