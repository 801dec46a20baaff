// Reviewing batch proposals: the edits that accept and reject them (exact inverses, one undo step each),
// and the folder's review status from the jobs' manifests and the store files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acceptAllProposals, acceptProposal, AnnotationState, applyEdit, describeEdit, EditConflictError, emptyState, invertEdit, rejectProposal, stateToFile } from '../../src/annotations/document';
import { nextUnreviewed, previousImage, reviewStatus } from '../../src/annotations/review';
import type { Annotation } from '../../src/annotations/schema';
import { writeAnnotationFile } from '../../src/annotations/store';

const image = { file_name: 'a.png', width: 4, height: 2 };
const object = (id: number, status: 'proposed' | 'accepted', origin: 'model' | 'human' = 'model'): Annotation => ({
  id, category_id: 1, segmentation: { size: [2, 4], counts: '08' }, area: 8, bbox: [0, 0, 4, 2], iscrowd: 0,
  pixel_sail: { origin, status, ...(origin === 'model' ? { job: 'job-1', prompt: 'every circle' } : {}) },
});
const withObjects = (...objects: Annotation[]): AnnotationState => ({ ...emptyState(image), annotations: objects });

describe('review of batch proposals', () => {
  it('accepting a proposal keeps the object and marks it accepted; rejecting removes it; each is one undo step', () => {
    const s = withObjects(object(1, 'proposed'), object(2, 'accepted', 'human'), object(3, 'proposed'));
    const accept = acceptProposal(s, 3);
    const accepted = applyEdit(s, accept);
    assert.deepEqual(accepted.annotations.map((a) => [a.id, a.pixel_sail.status]), [[1, 'proposed'], [2, 'accepted'], [3, 'accepted']]);
    assert.deepEqual({ ...accepted.annotations[2], pixel_sail: { ...accepted.annotations[2].pixel_sail, status: 'proposed' } }, s.annotations[2], 'nothing else changes');
    assert.equal(describeEdit(accept), 'Accept proposal');
    assert.deepEqual(applyEdit(accepted, invertEdit(accept)), s);
    const reject = rejectProposal(s, 1);
    const rejected = applyEdit(s, reject);
    assert.deepEqual(rejected.annotations.map((a) => a.id), [2, 3]);
    assert.equal(describeEdit(reject), 'Reject proposal');
    assert.deepEqual(applyEdit(rejected, invertEdit(reject)), s, 'undo puts it back where it was');
  });

  it('accepts all proposals of an image at once, and only proposals are reviewed', () => {
    const s = withObjects(object(1, 'proposed'), object(2, 'accepted', 'human'), object(3, 'proposed'));
    const all = acceptAllProposals(s)!;
    const after = applyEdit(s, all);
    assert.ok(after.annotations.every((a) => a.pixel_sail.status === 'accepted'));
    assert.deepEqual(applyEdit(after, invertEdit(all)), s);
    assert.equal(acceptAllProposals(after), undefined, 'nothing left to accept');
    assert.throws(() => acceptProposal(s, 2), EditConflictError);
    assert.throws(() => rejectProposal(s, 2), EditConflictError, 'a person\'s object is never "rejected" as a proposal');
  });

  it('notices a store file rewritten atomically at the same size within one clock tick', async () => {
    // "proposed" and "accepted" are both 8 characters: accepting rewrites the file at the same size, and on a
    // coarse clock at the same time. Both times are pinned here, so only the new inode tells the files apart.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-review-tick-'));
    fs.mkdirSync(path.join(root, '.pixel-sail', 'jobs'), { recursive: true });
    fs.writeFileSync(path.join(root, '.pixel-sail', 'jobs', 'job-1.json'), JSON.stringify({ images: { 'a.png': { state: 'done' } } }));
    const file = path.join(root, '.pixel-sail', 'annotations', 'a.png.json');
    const tick = new Date('2026-01-01T00:00:00Z');
    await writeAnnotationFile(file, stateToFile({ image, annotations: [object(1, 'proposed')] }));
    fs.utimesSync(file, tick, tick);
    const before = fs.statSync(file);
    assert.deepEqual(reviewStatus(root).unreviewed, ['a.png']);
    await writeAnnotationFile(file, stateToFile({ image, annotations: [object(1, 'accepted')] }));
    fs.utimesSync(file, tick, tick);
    const after = fs.statSync(file);
    assert.deepEqual([after.size, after.mtimeMs], [before.size, before.mtimeMs], 'same size, same time');
    assert.deepEqual(reviewStatus(root).unreviewed, [], 'read again: nothing left to review');
  });

  it('counts the images jobs have done, unreviewed while a proposal is left, with the open document as it is now', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-review-'));
    const jobs = path.join(root, '.pixel-sail', 'jobs');
    fs.mkdirSync(jobs, { recursive: true });
    const done = { state: 'done' };
    fs.writeFileSync(path.join(jobs, 'job-1.json'), JSON.stringify({ images: { 'b/2.png': done, 'a.png': done, 'c.png': { state: 'failed' }, 'b/10.png': done } }));
    fs.writeFileSync(path.join(jobs, 'job-2.json'), '{ broken');
    const store = async (file: string, ...objects: Annotation[]) =>
      writeAnnotationFile(path.join(root, '.pixel-sail', 'annotations', ...`${file}.json`.split('/')), stateToFile({ image: { ...image, file_name: file }, annotations: objects }));
    await store('a.png', object(1, 'proposed'));
    await store('b/10.png', object(1, 'accepted'));
    await store('b/2.png', object(1, 'proposed'), object(2, 'accepted'));
    let status = reviewStatus(root);
    assert.deepEqual(status.images, ['a.png', 'b/10.png', 'b/2.png'], 'done images only, in byte order; the broken manifest is left out');
    assert.deepEqual(status.unreviewed, ['a.png', 'b/2.png']);
    assert.equal(nextUnreviewed(status, 'a.png'), 'b/2.png');
    assert.equal(nextUnreviewed(status, 'b/2.png'), 'a.png', 'wraps around');
    assert.equal(nextUnreviewed(status, 'b/10.png'), 'b/2.png');
    assert.equal(previousImage(status, 'b/10.png'), 'a.png');
    assert.equal(previousImage(status, 'a.png'), undefined);
    // The open editor of a.png has accepted its proposal but not saved yet.
    status = reviewStatus(root, { fileName: 'a.png', annotations: [object(1, 'accepted')] });
    assert.deepEqual(status.unreviewed, ['b/2.png']);
    assert.equal(nextUnreviewed(status, 'b/2.png'), undefined, 'no other image to review');
    // A file changed on disk is read again.
    await store('b/2.png', object(2, 'accepted'));
    assert.deepEqual(reviewStatus(root).unreviewed, ['a.png']);
    // So is a manifest, rewritten atomically (a rename), as the batch job does after each image; and one
    // that becomes readable counts from then on.
    const manifest = (images: Record<string, { state: string }>) => {
      fs.writeFileSync(path.join(jobs, 'job-1.json.tmp'), JSON.stringify({ images }));
      fs.renameSync(path.join(jobs, 'job-1.json.tmp'), path.join(jobs, 'job-1.json'));
    };
    manifest({ 'a.png': done, 'b/2.png': done, 'b/10.png': done, 'c.png': done });
    await store('c.png', object(1, 'proposed'));
    assert.deepEqual(reviewStatus(root).images, ['a.png', 'b/10.png', 'b/2.png', 'c.png']);
    assert.deepEqual(reviewStatus(root).unreviewed, ['a.png', 'c.png']);
    fs.writeFileSync(path.join(jobs, 'job-2.json'), JSON.stringify({ images: { 'd.png': done } }));
    assert.deepEqual(reviewStatus(root).images, ['a.png', 'b/10.png', 'b/2.png', 'c.png', 'd.png']);
  });
});
