// The README's Slurm job array on a real one-node Slurm cluster (Debian's slurm-wlm and munge, started by
// this test in a scratch folder and stopped by PID): three array tasks annotate 30 generated scenes, their
// exports merge, and the result equals one machine's run. Skips, saying why, only where Slurm cannot start.
import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const tiny = path.join(repo, 'models/tiny-random');
const python = process.env.PYTHON || '/usr/bin/python3';
const PROMPTS = ['circle=every circle', 'square=the square'];

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('batch annotation on a real Slurm cluster', function () {
  this.timeout(300000);
  const daemons: ChildProcess[] = [];
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let munged: number | undefined;

  before(async function () {
    const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'munged'].filter((c) => !has(c) && !fs.existsSync(`/usr/sbin/${c}`));
    if (missing.length) {
      console.log(`      skipped: Slurm is not installed (${missing.join(', ')} missing; scripts/setup.sh installs slurm-wlm and munge)`);
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-slurm-'));
    for (const d of ['state', 'spool', 'log']) fs.mkdirSync(path.join(tmp, d));
    const host = execFileSync('hostname', ['-s'], { encoding: 'utf8' }).trim();
    const conf = path.join(tmp, 'slurm.conf');
    fs.writeFileSync(conf, [
      'ClusterName=local', 'MailProg=/bin/true', `SlurmctldHost=${host}`, 'SlurmUser=root', 'AuthType=auth/munge', 'MpiDefault=none',
      'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
      'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none', 'ReturnToService=2',
      `StateSaveLocation=${tmp}/state`, `SlurmdSpoolDir=${tmp}/spool`, `SlurmctldPidFile=${tmp}/slurmctld.pid`, `SlurmdPidFile=${tmp}/slurmd.pid`,
      `SlurmctldLogFile=${tmp}/log/slurmctld.log`, `SlurmdLogFile=${tmp}/log/slurmd.log`,
      `NodeName=${host} CPUs=${os.cpus().length} RealMemory=${Math.floor(os.totalmem() / 2 ** 20 / 2)} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`, '',
    ].join('\n'));
    env = { ...process.env, SLURM_CONF: conf };
    fs.mkdirSync('/run/munge', { recursive: true });
    spawnSync('chown', ['munge:munge', '/run/munge']);
    if (spawnSync('sh', ['-c', 'munge -n | unmunge']).status !== 0) {
      spawnSync('runuser', ['-u', 'munge', '--', '/usr/sbin/munged', '--pid-file=/run/munge/munged.pid']);
      munged = Number(fs.readFileSync('/run/munge/munged.pid', 'utf8').trim()) || undefined;
    }
    if (spawnSync('sh', ['-c', 'munge -n | unmunge']).status !== 0) {
      console.log('      skipped: munge does not start here, so Slurm cannot authenticate');
      this.skip();
    }
    for (const d of ['slurmctld', 'slurmd']) {
      daemons.push(spawn(`/usr/sbin/${d}`, ['-D'], { env, stdio: ['ignore', fs.openSync(path.join(tmp, 'log', `${d}.out`), 'w'), fs.openSync(path.join(tmp, 'log', `${d}.err`), 'w')] }));
    }
    for (let i = 0; i < 100; i++) {
      const state = spawnSync('sinfo', ['-h', '-N', '-o', '%t'], { env, encoding: 'utf8' }).stdout.trim();
      if (state === 'idle') return;
      await sleep(300);
    }
    console.log(`      skipped: the Slurm node did not come up: ${fs.readFileSync(path.join(tmp, 'log/slurmctld.log'), 'utf8').slice(-500)}`);
    this.skip();
  });

  after(() => {
    for (const d of daemons) try { d.kill('SIGTERM'); } catch { /* gone */ }
    if (munged) try { process.kill(munged, 'SIGTERM'); } catch { /* gone */ }
  });

  it('a 3-task job array over 30 scenes, merged, equals the single-machine run', async () => {
    const scenes = path.join(tmp, 'scenes');
    const r = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '53', '--count', '30', '--size', '96', '--out', scenes, '--quiet'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    fs.rmSync(path.join(scenes, 'ground_truth.json'));
    const single = path.join(tmp, 'single');
    fs.cpSync(scenes, single, { recursive: true });
    const one = spawnSync('node', [bin, 'annotate', single, ...PROMPTS.flatMap((p) => ['--prompt', p]), '--model', tiny, '--out', path.join(tmp, 'single.json')], { encoding: 'utf8' });
    assert.equal(one.status, 0, one.stderr);

    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    const job = spawnSync('sbatch', ['--parsable', '--array=0-2', `--output=${tmp}/log/task-%a.out`, path.join(repo, 'scripts/cluster/annotate-array.slurm'), scenes, out, ...PROMPTS],
      { env: { ...env, PIXEL_SAIL: `node ${bin}`, PIXEL_SAIL_MODEL: tiny }, encoding: 'utf8' });
    assert.equal(job.status, 0, job.stderr);
    const id = job.stdout.trim().split(';')[0];
    // Until the array has left the queue; the test's timeout bounds the wait, so a slow machine is not a failure here.
    while (spawnSync('squeue', ['-h', '-j', id], { env, encoding: 'utf8' }).stdout.trim()) await sleep(300);
    const shards = [0, 1, 2].map((k) => path.join(out, `shard-${k}.json`));
    for (const [k, s] of shards.entries()) assert.ok(fs.existsSync(s), `task ${k} wrote its export: ${fs.existsSync(`${tmp}/log/task-${k}.out`) ? fs.readFileSync(`${tmp}/log/task-${k}.out`, 'utf8').slice(-400) : 'no log'}`);
    const merged = path.join(out, 'all.json');
    const m = spawnSync('node', [bin, 'merge', '--out', merged, ...shards], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    const strip = (file: string) => {
      const coco = JSON.parse(fs.readFileSync(file, 'utf8'));
      return { ...coco, info: { ...coco.info, description: undefined }, annotations: coco.annotations.map((a: { pixel_sail: object }) => ({ ...a, pixel_sail: { ...a.pixel_sail, job: undefined } })) };
    };
    const got = strip(merged);
    assert.equal(got.images.length, 30);
    assert.deepEqual(got, strip(path.join(tmp, 'single.json')));
  });
});
