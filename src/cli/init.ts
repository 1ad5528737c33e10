// mtl init DATA --task NAME:TYPE[:LABEL] ... [--out SPEC.jsonc] [--sample N] [--delimiter C] [--force]
// A ready-to-train spec from the user's own data: reads the first N rows (streaming), decides every column's kind
// (src/data/infer-columns.ts) and prints why, checks each task's labels, writes the commented spec
// (src/cli/init-spec.ts) and prints the command that trains it.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { TASK_TYPES as ALL_TASK_TYPES, DEFAULT_MISSING, validateSpec, type TaskType } from "../model/spec.ts";
import { fileSource } from "../data/node-file.ts";
import { openCsv } from "../data/csv.ts";
import { openJsonl } from "../data/jsonl.ts";
import { textLines, type RowStream } from "../data/source.ts";
import { checkLabels, closeMatches, inferColumn, LabelError, type ColumnDecision, type LabelCheck, type TaskRequest } from "../data/infer-columns.ts";
import { buildInitSpec, renderJsonc } from "./init-spec.ts";
import { parseJsonc } from "../util/jsonc.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { intFlag, parseArgs, strFlag, UsageError } from "./args.ts";

/** The task types init writes: tagging needs inputs.tokens, which init does not infer. */
const TASK_TYPES = ALL_TASK_TYPES.filter((t) => t !== "tagging");

export const INIT_USAGE = "mtl init DATA.csv --task NAME:TYPE[:LABEL] ... [--out SPEC.jsonc] [--sample N] [--delimiter C] [--force]";

/** Rows read when --sample is not given. */
export const DEFAULT_SAMPLE = 10_000;

const HELP = `usage: ${INIT_USAGE}

Reads the first N rows of DATA (CSV, or JSON lines for .jsonl/.ndjson; gzip is detected), decides for every column
whether it is a numeric input, a categorical input or not used, and prints why; writes a commented spec that
\`mtl train\` accepts, and the command to train it.
  --task NAME:TYPE[:LABEL]  one per task (repeat the flag). TYPE: ${TASK_TYPES.join(", ")}. LABEL is the
                            label column (default NAME); multilabel and multi-output regression take LABEL1+LABEL2+...
  --out SPEC.jsonc          where to write the spec (default DATA's name with .jsonc, in the current directory)
  --sample N                rows to read (default ${DEFAULT_SAMPLE.toLocaleString("en-US")})
  --delimiter C             CSV field delimiter (default: detected from the header line among , ; tab |)
  --force                   overwrite an existing SPEC`;

const q = (s: string) => JSON.stringify(s);

export async function initCommand(argv: string[], log: (s: string) => void): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    log(HELP);
    return 0;
  }
  // --task repeats, which parseArgs does not keep: take every occurrence out first.
  const taskArgs: string[] = [], rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--task") {
      const v = argv[++i];
      if (v === undefined || v === "") throw new UsageError(`mtl init: --task needs a value NAME:TYPE[:LABEL]\n${HELP}`);
      taskArgs.push(v);
    } else if (argv[i].startsWith("--task=")) taskArgs.push(argv[i].slice(7));
    else rest.push(argv[i]);
  }
  const p = parseArgs(rest, ["force"], ["out", "sample", "delimiter"], "init");
  if (p.positional.length !== 1) throw new UsageError(p.positional.length ? `mtl init: one data file, found ${p.positional.length} (${p.positional.map(q).join(", ")})\n${HELP}` : `usage: ${INIT_USAGE}`);
  const data = p.positional[0];
  const where = `mtl init ${data}`;
  if (!taskArgs.length) throw new UsageError(`${where}: give at least one --task NAME:TYPE[:LABEL] (TYPE: ${TASK_TYPES.join(", ")})`);
  const requests = taskArgs.map((a) => parseTask(a, where));
  const names = new Set<string>();
  for (const r of requests) {
    if (names.has(r.req.name)) throw new UsageError(`${where}: --task ${r.arg}: a task named ${q(r.req.name)} is already given; task names must differ`);
    names.add(r.req.name);
  }
  const limit = intFlag(p, "sample", "init") ?? DEFAULT_SAMPLE;
  if (limit < 1) throw new UsageError(`${where}: --sample must be at least 1 row, found ${limit}`);
  if (!existsSync(data) || !statSync(data).isFile()) throw new UsageError(`${where}: no such file (${resolve(data)})`);
  const format = /\.(jsonl|ndjson)(\.gz)?$/i.test(data) ? "jsonl" : "csv";
  let delimiter = strFlag(p, "delimiter");
  if (delimiter === "tab" || delimiter === "\\t") delimiter = "\t";
  if (delimiter !== undefined && delimiter.length !== 1) throw new UsageError(`${where}: --delimiter expects one character (or "tab"), found ${q(delimiter)}`);
  if (delimiter !== undefined && format === "jsonl") throw new UsageError(`${where}: --delimiter applies to CSV, but ${data} is read as JSON lines`);
  let sniffed = "";
  if (format === "csv" && delimiter === undefined) [delimiter, sniffed] = await sniffDelimiter(data, where);
  delimiter ??= ",";
  const out = strFlag(p, "out") ?? `${stem(data)}.jsonc`;
  if (existsSync(out) && !p.flags.has("force")) throw new UsageError(`${where}: --out ${out} exists; give --force to overwrite it, or another --out`);
  if (!existsSync(dirname(resolve(out)))) throw new UsageError(`${where}: --out ${out}: folder ${dirname(resolve(out))} does not exist`);

  const sample = await readSample(data, format, delimiter, limit, where);
  log(`${data}: ${sample.more ? `read the first ${sample.rows.toLocaleString("en-US")} rows (the file holds more; --sample N reads more)` : `read all ${sample.rows.toLocaleString("en-US")} rows`}, ${sample.columns.length} columns${format === "csv" ? `, delimiter ${q(delimiter)}${sniffed ? ` (${sniffed})` : ""}` : ""}`);

  const cellsOf = (c: string) => sample.cells[sample.columns.indexOf(c)];
  const missing = new Set(DEFAULT_MISSING);
  const labelOf = new Map<string, string>();
  const tasks: { req: TaskRequest; check: LabelCheck }[] = requests.map(({ req, arg, defaulted }) => {
    for (const c of req.labels) {
      if (sample.columns.includes(c)) continue;
      const close = closeMatches(c, sample.columns);
      const what = defaulted ? `no column ${q(c)} (the label column: LABEL defaults to NAME; give NAME:TYPE:LABEL for another column)` : `no label column ${q(c)}`;
      throw new UsageError(`${where}: --task ${arg}: ${what}${close.length ? `; did you mean ${close.map(q).join(" or ")}?` : "."} Columns (${sample.columns.length}): ${list(sample.columns)}`);
    }
    let check: LabelCheck;
    try {
      check = checkLabels(req, cellsOf, missing);
    } catch (e) {
      if (e instanceof LabelError) throw new UsageError(`${where}: --task ${arg}: ${e.message} (in the ${sample.rows.toLocaleString("en-US")} rows read)`);
      throw e;
    }
    for (const c of req.labels) labelOf.set(c, req.name);
    return { req, check };
  });

  const decisions: ColumnDecision[] = [];
  const width = Math.max(...sample.columns.map((c) => c.length), 6);
  for (const [j, c] of sample.columns.entries()) {
    const task = labelOf.get(c);
    if (task !== undefined) {
      log(`  ${c.padEnd(width)}  label        of task ${task}`);
      continue;
    }
    const d: ColumnDecision = c === "" ? { ...inferColumn(c, sample.cells[j], missing), kind: "drop", reason: "no name in the header" } : inferColumn(c, sample.cells[j], missing);
    decisions.push(d);
    log(`  ${(c || '""').padEnd(width)}  ${(d.kind === "drop" ? "not used" : d.kind).padEnd(11)}  ${d.reason}`);
  }
  for (const t of tasks) log(`  task ${t.req.name} (${t.req.type}, ${t.req.labels.map(q).join(" + ")}): ${t.check.summary}`);
  if (!decisions.some((d) => d.kind !== "drop")) throw new UsageError(`${where}: no input column left: every column is a label or not used (see above)`);

  const dataPath = specPath(data);
  const command = ["mtl init", ...argv.map(shellWord)].join(" ");
  const { spec, before, after } = buildInitSpec({ path: dataPath, delimiter, format, name: stem(data), decisions, tasks, rows: sample.rows, more: sample.more, command });
  const text = renderJsonc(spec, before, after);
  validateSpec(parseJsonc(text)); // the written text, read back as mtl train reads it
  await writeFileAtomic(out, text);
  const used = decisions.filter((d) => d.kind !== "drop");
  log(`wrote ${out}: ${used.filter((d) => d.kind === "numeric").length} numeric and ${used.filter((d) => d.kind === "categorical").length} categorical inputs, ${decisions.length - used.length} columns not used, ${tasks.length} task${tasks.length === 1 ? "" : "s"}`);
  log(`train it: npx mtl train ${shellWord(out)} --out ${shellWord(`runs/${stem(data)}`)}`);
  return 0;
}

/** NAME:TYPE[:LABEL], LABEL = L1+L2+... */
function parseTask(arg: string, where: string): { req: TaskRequest; arg: string; defaulted: boolean } {
  const i = arg.indexOf(":");
  const j = i < 0 ? -1 : arg.indexOf(":", i + 1);
  const name = i < 0 ? arg : arg.slice(0, i);
  const type = i < 0 ? "" : arg.slice(i + 1, j < 0 ? undefined : j);
  const label = j < 0 ? "" : arg.slice(j + 1);
  const bad = (why: string) => new UsageError(`${where}: --task ${arg}: ${why}; expected NAME:TYPE[:LABEL] with TYPE one of ${TASK_TYPES.join(", ")}`);
  if (i < 0) throw bad("no TYPE");
  if (!name || /\s/.test(name)) throw bad(`NAME ${q(name)} must be non-empty, without spaces`);
  if (!(TASK_TYPES as readonly string[]).includes(type)) {
    const close = closeMatches(type, TASK_TYPES);
    throw bad(`TYPE ${q(type)} is not a task type${close.length ? ` (did you mean ${close.map(q).join(" or ")}?)` : ""}`);
  }
  const labels = label === "" ? [name] : label.split("+");
  if (labels.some((l) => l === "")) throw bad(`LABEL ${q(label)} has an empty column name (columns are joined by +)`);
  if ((type === "binary" || type === "multiclass") && labels.length !== 1) throw bad(`type ${type} takes one label column, found ${labels.length}`);
  if (new Set(labels).size !== labels.length) throw bad(`LABEL names a column twice`);
  return { req: { name, type: type as TaskType, labels }, arg, defaulted: label === "" };
}

/** The first `limit` rows as column-major cells; `more` when the file holds another row. */
async function readSample(path: string, format: "csv" | "jsonl", delimiter: string, limit: number, where: string): Promise<{ columns: string[]; cells: string[][]; rows: number; more: boolean }> {
  let stream: RowStream;
  try {
    stream = format === "csv" ? await openCsv(fileSource(path), { delimiter }) : await openJsonl(fileSource(path));
  } catch (e) {
    const m = (e as Error).message;
    if (/empty CSV file/.test(m)) throw new UsageError(`${where}: the file is empty (no header line); mtl init needs a header and data rows`);
    throw e;
  }
  const columns = [...stream.columns];
  if (!columns.length) throw new UsageError(`${where}: the file is empty (no JSON object)`);
  const cells = columns.map(() => [] as string[]);
  let rows = 0, more = false;
  for await (const r of stream) {
    if (rows === limit) {
      more = true;
      break;
    }
    r.fields.forEach((f, k) => cells[k].push(f));
    rows++;
  }
  if (!rows) throw new UsageError(`${where}: no data rows (the file holds a header line with ${columns.length} columns and nothing else)`);
  return { columns, cells, rows, more };
}

/** The delimiter among , ; tab | that occurs most in the header line outside quotes ("," when none does). */
async function sniffDelimiter(path: string, where: string): Promise<[string, string]> {
  let header = "";
  for await (const l of textLines(fileSource(path))) {
    header = l.text;
    if (header !== "") break; // blank lines before the header are skipped, as the CSV reader does
  }
  if (header === "") throw new UsageError(`${where}: the file is empty (no header line); mtl init needs a header and data rows`);
  const counts = new Map<string, number>([[",", 0], [";", 0], ["\t", 0], ["|", 0]]);
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  if (ranked[0][1] === 0) return [",", "no , ; tab or | in the header: one column"];
  return [ranked[0][0], `detected: ${ranked.filter(([, k]) => k).map(([d, k]) => `${k} × ${q(d)}`).join(", ")} in the header`];
}

/** DATA as the spec's data.path: relative to the current directory (where mtl train runs), "/" separated. */
function specPath(data: string): string {
  const rel = relative(process.cwd(), resolve(data));
  return isAbsolute(rel) ? rel : rel.split(sep).join("/");
}

/** The file name without directory and extensions (.csv, .gz, ...), as a spec/run name. */
function stem(path: string): string {
  return basename(path).replace(/(\.(gz|csv|tsv|txt|jsonl|ndjson|data))+$/i, "").replace(/[^\w.-]+/g, "-") || "model";
}

/** `s` quoted for a POSIX shell when it holds anything but letters, digits and _ . / - : + = , */
const shellWord = (s: string) => (/^[\w./:+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const list = (xs: readonly string[], max = 12) => xs.slice(0, max).map(q).join(", ") + (xs.length > max ? `, ... (${xs.length} in all)` : "");
