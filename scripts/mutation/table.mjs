// `node scripts/mutation/table.mjs`: the README's mutation table from the JSON reports that
// `npm run test:mutation` left in reports/mutation/ (one per run). Runs go file by file on the shared machines,
// so a file can appear in several reports: the newest report of each file counts. Prints markdown rows per
// file with the report's date, a subtotal per directory and the overall score.
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = 'reports/mutation';
const latest = new Map();
for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  if (!name.endsWith('.json')) continue;
  const file = path.join(dir, name);
  const when = fs.statSync(file).mtime;
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const [src, data] of Object.entries(report.files)) {
    const rel = path.relative(process.cwd(), path.resolve(src));
    if (latest.has(rel) && latest.get(rel).when >= when) continue;
    const c = { killed: 0, survived: 0, noCoverage: 0, other: 0 };
    for (const m of data.mutants) {
      if (m.status === 'Killed' || m.status === 'Timeout') c.killed++;
      else if (m.status === 'Survived') c.survived++;
      else if (m.status === 'NoCoverage') c.noCoverage++;
      else c.other++;
    }
    latest.set(rel, { when, ...c });
  }
}
if (!latest.size) { console.error(`no reports in ${dir}: run npm run test:mutation first`); process.exit(1); }

const scored = (r) => r.killed + r.survived + r.noCoverage;
const pct = (r) => (scored(r) ? `${((100 * r.killed) / scored(r)).toFixed(1)} %` : '–');
const add = (a, r) => { for (const k of ['killed', 'survived', 'noCoverage', 'other']) a[k] += r[k]; return a; };
const zero = () => ({ killed: 0, survived: 0, noCoverage: 0, other: 0 });
console.log('| file | measured | mutants | killed | survived | no coverage | score |');
console.log('|---|---|---|---|---|---|---|');
const total = zero();
const dirs = [...new Set([...latest.keys()].map((f) => path.dirname(f)))].sort();
for (const d of dirs) {
  const sub = zero();
  for (const [f, r] of [...latest].filter(([f]) => path.dirname(f) === d).sort()) {
    console.log(`| ${f} | ${r.when.toISOString().slice(0, 16).replace('T', ' ')} | ${scored(r)} | ${r.killed} | ${r.survived} | ${r.noCoverage} | ${pct(r)} |`);
    add(sub, r);
  }
  console.log(`| **${d}** | | ${scored(sub)} | ${sub.killed} | ${sub.survived} | ${sub.noCoverage} | **${pct(sub)}** |`);
  add(total, sub);
}
console.log(`| **all** | | ${scored(total)} | ${total.killed} | ${total.survived} | ${total.noCoverage} | **${pct(total)}** |`);
