/**
 * `npm run bench`: the register benchmark (bench/run.ts), the dues runs (bench/dues.ts) and the
 * invitation sending (bench/invitations.ts), one after the other in their own processes so each
 * measures its own memory. Each merges its scenarios into bench/results.json; at the end the
 * file's scenarios are printed. BENCH_SUITES=register,dues,invitations picks some.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suites: Record<string, string> = { register: 'bench/run.ts', dues: 'bench/dues.ts', invitations: 'bench/invitations.ts', sepa: 'bench/sepa.ts' /* h/sepa: bank-pain008 */, evoting: 'bench/evoting.ts' /* h/evote */, bank: 'bench/bank.ts' /* h/bank */ };
const chosen = (process.env.BENCH_SUITES ?? Object.keys(suites).join(',')).split(',').map((s) => s.trim()).filter((s) => s in suites);
let failed = 0;
for (const name of chosen) {
  console.log(`\n===== ${name} (${suites[name]}) =====`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, suites[name])], { stdio: 'inherit', cwd: root, env: process.env });
  if (r.status !== 0) {
    failed++;
    console.log(`${name}: the benchmark could not measure (exit ${r.status ?? r.signal})`);
  }
}
const file = path.join(root, 'bench/results.json');
if (fs.existsSync(file)) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { scenarios?: Record<string, unknown>[]; peakRssMb?: number };
  console.log('\n===== bench/results.json =====');
  for (const s of doc.scenarios ?? []) {
    const { name, ...rest } = s;
    const keys = ['rps', 'p50', 'p99', 'ratio', 'budgetRatio', 'cpuMsPerRequest', 'singleMs', 'messagesPerSecond', 'invoicesPerSecond', 'pdfsPerSecond', 'wallSeconds', 'idealSeconds', 'stripeCallsPerInvoice', 'failedInvoices', 'cpuSeconds', 'rssGrowthMb', 'peakRssMb', 'runSeconds', 'fileSeconds', 'counted', 'exactlyOnce', 'liveMaxGapMs', 'pass'];
    const shown = keys.filter((k) => k in rest).map((k) => `${k} ${String(rest[k])}`).join(', ');
    console.log(`${String(name).padEnd(32)} ${shown}`);
  }
  if (doc.peakRssMb !== undefined) console.log(`register app peak RSS: ${doc.peakRssMb} MB`);
}
process.exit(failed ? 1 : 0);
