// NODE-ONLY: which files a command wrote into its output directory, read off the disk rather than listed by hand.
//
// snapshotDir records every file under DIR (recursively) as path → identity (inode, size, mtime). A file is written
// by the run when it exists afterwards and is new or has another identity: every write in this project replaces the
// file by a rename (io/atomic.ts), which gives it a new inode. Files deleted again (pruned checkpoints) are not
// listed; temporaries (isTempName) are never listed.
import { readdirSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { isTempName } from "../io/atomic.ts";

/** Relative path (`/`-separated) → `ino:size:mtimeNs`. */
export type DirSnapshot = Map<string, string>;

export function snapshotDir(dir: string): DirSnapshot {
  const out: DirSnapshot = new Map();
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, rel)).sort();
    } catch {
      return; // missing, or not a directory
    }
    for (const name of names) {
      if (isTempName(name)) continue;
      const r = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = statSync(join(dir, r), { bigint: true });
      } catch {
        continue; // deleted meanwhile
      }
      if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.set(r, `${st.ino}:${st.size}:${st.mtimeNs}`);
    }
  };
  walk("");
  return out;
}

/** Files under `dir` now that are not in `before` or changed since (relative paths, sorted). */
export function writtenSince(dir: string, before: DirSnapshot): string[] {
  const now = snapshotDir(dir);
  return [...now.entries()].filter(([p, id]) => before.get(p) !== id).map(([p]) => p).sort();
}

/**
 * `wrote 13 files in DIR/: metrics.json, model.json; checkpoints/1/, checkpoints/2/: manifest.json, model.json`:
 * the files of each directory by name, directories with the same names listed together (top level first).
 */
export function formatWritten(dir: string, files: readonly string[]): string {
  const byDir = new Map<string, string[]>();
  for (const f of files) {
    const i = f.lastIndexOf("/");
    const d = i < 0 ? "" : f.slice(0, i + 1);
    byDir.set(d, [...(byDir.get(d) ?? []), f.slice(i + 1)]);
  }
  const groups = new Map<string, string[]>();
  for (const [d, names] of byDir) {
    const key = names.join("\0");
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const parts = [...groups.entries()]
    .sort(([, a], [, b]) => (a.includes("") ? -1 : b.includes("") ? 1 : 0))
    .map(([key, dirs]) => {
      const names = key.split("\0").join(", ");
      return dirs.length === 1 && dirs[0] === "" ? names : `${dirs.map((d) => d || "./").join(", ")}: ${names}`;
    });
  const root = dir.endsWith(sep) || dir.endsWith("/") ? dir : dir + sep;
  return `wrote ${files.length} file${files.length === 1 ? "" : "s"} in ${root}: ${parts.join("; ")}`;
}
