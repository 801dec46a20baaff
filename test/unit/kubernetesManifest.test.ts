// The README's Kubernetes Indexed Job, validated against the batch/v1 Job schema (kubernetes-models carries
// the API's OpenAPI schema; there is no cluster here), and checked to split the folder as the Slurm array does.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Job } from 'kubernetes-models/batch/v1';
import { parse } from 'yaml';

const repo = path.resolve(__dirname, '../../..');
// Model.validate() comes from @kubernetes-models/base, whose types this tsconfig's "node" resolution cannot see.
const validate = (m: unknown) => (new Job(m as ConstructorParameters<typeof Job>[0]) as unknown as { validate(): void }).validate();
const manifest = () => parse(fs.readFileSync(path.join(repo, 'scripts/cluster/annotate-indexed-job.yaml'), 'utf8'));

describe('Kubernetes Indexed Job manifest', () => {
  it('is a valid batch/v1 Job', () => {
    const m = manifest();
    assert.equal(m.apiVersion, 'batch/v1');
    assert.equal(m.kind, 'Job');
    validate(m);
  });

  it('the validator does catch a broken Job', () => {
    const m = manifest();
    m.spec.completions = 'three';
    assert.throws(() => validate(m), /completions/);
  });

  it('runs one shard per completion index, with N equal to completions', () => {
    const m = manifest();
    assert.equal(m.spec.completionMode, 'Indexed');
    const c = m.spec.template.spec.containers[0];
    const shards = c.env.find((e: { name: string }) => e.name === 'SHARDS').value;
    assert.equal(Number(shards), m.spec.completions);
    const script = c.args.join(' ');
    assert.match(script, /--shard "\$JOB_COMPLETION_INDEX\/\$SHARDS"/);
    assert.match(script, /--out "\/data\/out\/shard-\$JOB_COMPLETION_INDEX\.json"/);
  });
});
