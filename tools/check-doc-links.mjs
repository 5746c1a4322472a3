// Every relative link in the repository's Markdown must reach a file that
// exists, and every #anchor a heading of that file (as GitHub names
// headings), so the docs cannot point at something moved or renamed. Links
// out of the repository (../…) are refused: the docs are self-contained.
// Used by .ci/run; `--external` also lists the http(s) links, for review.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.md'],
  {
    cwd: root,
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((file) => file !== '' && existsSync(join(root, file)));

/**
 * GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
 * @param {string} heading
 */
function slug(heading) {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** @type {Map<string, Set<string>>} */
const anchorsOf = new Map();
/** @param {string} file */
function anchors(file) {
  let found = anchorsOf.get(file);
  if (found === undefined) {
    found = new Set();
    /** @type {Map<string, number>} */
    const counts = new Map();
    let fenced = false;
    for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
      if (line.startsWith('```')) fenced = !fenced;
      const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
      if (!heading) continue;
      const base = slug(heading[1]);
      const seen = counts.get(base) ?? 0;
      counts.set(base, seen + 1);
      found.add(seen === 0 ? base : `${base}-${seen}`);
    }
    anchorsOf.set(file, found);
  }
  return found;
}

const problems = [];
const external = new Set();
for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8').replace(
    /^```[\s\S]*?^```/gm,
    '',
  );
  const targets = [
    ...[...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
    ...[...text.matchAll(/^\[[^\]]+\]:\s+(\S+)/gm)].map((m) => m[1]),
  ];
  for (const target of targets) {
    if (/^(https?:|mailto:)/.test(target)) {
      external.add(target);
      continue;
    }
    const [path, anchor] = target.split('#');
    const resolved = path
      ? normalize(join(dirname(file), decodeURIComponent(path)))
      : file;
    if (resolved.startsWith('..')) {
      problems.push(`${file}: ${target} leaves the repository`);
      continue;
    }
    if (!existsSync(join(root, resolved))) {
      problems.push(`${file}: ${target}: no such file`);
      continue;
    }
    if (anchor === undefined) continue;
    const page = statSync(join(root, resolved)).isDirectory()
      ? relative(root, join(root, resolved, 'README.md'))
      : resolved;
    if (!page.endsWith('.md') || !anchors(page).has(anchor)) {
      problems.push(`${file}: ${target}: no heading #${anchor} in ${page}`);
    }
  }
}

if (process.argv.includes('--external')) {
  for (const link of [...external].sort()) console.log(link);
}
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exitCode = 1;
else console.log(`docs: every relative link in ${files.length} files resolves`);
