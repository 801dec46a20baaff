// The ground-truth reader on a dataset written here by hand (no generator): every check it makes is tried
// once with the input that must pass and once with the smallest change that must fail, and each refusal is
// compared with the exact message a user reads (file, JSON path, what is wrong). The messages are the
// documented behaviour, written out here, not read back from the code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { GroundTruthError, jsonPath, readGroundTruth, validateGroundTruth } from '../../src/eval/groundTruth';

const F = '/data/gt.json';
/** A valid dataset that uses every task type and every visual-prompt kind. Image 1 is 3 wide, 2 high (not square,
 *  so a height/width swap shows); image 2 is 2×2; image 3 is listed but no task uses it. */
function dataset(): any {
  const seg = (h: number, w: number) => ({ size: [h, w], counts: String(h * w) });
  return {
    images: [
      { id: 1, file_name: 'wide.png', width: 3, height: 2 },
      { id: 2, file_name: 'sq.png', width: 2, height: 2 },
      { id: 3, file_name: 'unused.png', width: 9, height: 9 },
    ],
    annotations: [
      { id: 10, image_id: 1, segmentation: seg(2, 3) },
      { id: 11, image_id: 1, segmentation: seg(2, 3) },
      { id: 20, image_id: 2, segmentation: seg(2, 2) },
    ],
    tasks: [
      { id: 0, type: 'res', image_id: 1, expression: 'the left one', target_ids: [10, 11], kind: 'multi' },
      { id: 1, type: 'res', image_id: 2, expression: 'x', target_ids: [] },
      { id: 2, type: 'caption', image_id: 1, region_id: 10, caption: 'a thing', visual_prompt: { kind: 'mask' } },
      { id: 3, type: 'mcq', image_id: 1, region_id: 11, question: 'Colour?', choices: ['red', 'blue', 'green'], answer: 'blue', visual_prompt: { kind: 'box', bbox: [0, 0, 2, 1] }, kind: 'colour' },
      { id: 4, type: 'mcq', image_id: 2, region_id: 20, question: 'Shape?', choices: ['a', 'b'], answer: 'a', visual_prompt: { kind: 'points', points: [[0, 0, 1], [1, 1, 0]] } },
      { id: 5, type: 'vtres', image_id: 1, prompt_region_ids: [10, 11], question: 'What is left of <region1>?', target_ids: [11], visual_prompts: [{ kind: 'scribble', points: [[0, 0], [1, 1]], width: 2 }, { kind: 'mask' }] },
    ],
  };
}

const refuses = (edit: (gt: any) => void, message: string) => {
  const gt = dataset();
  edit(gt);
  assert.throws(() => validateGroundTruth(gt, F), (e: Error) => {
    assert.ok(e instanceof GroundTruthError, `${e.constructor.name}: ${e.message}`);
    assert.equal(e.message, message);
    return true;
  });
};
const accepts = (edit: (gt: any) => void) => {
  const gt = dataset();
  edit(gt);
  return validateGroundTruth(gt, F);
};

describe('ground truth by hand: every check, its exact message', () => {
  it('accepts the hand-built dataset with every task type and prompt kind, unchanged', () => {
    const gt = accepts(() => {});
    assert.deepEqual(gt, dataset());
  });

  it('refuses files that are no dataset at all, before the schema', () => {
    const lacks = `${F} lacks images, annotations or tasks; is it a dataset from training/generate.py?`;
    for (const raw of [null, 'text', 7, [], {}, { images: [], annotations: [] }, { images: [], tasks: [] }, { annotations: [], tasks: [] }, { images: {}, annotations: [], tasks: [] }]) {
      assert.throws(() => validateGroundTruth(raw, F), (e: Error) => e instanceof GroundTruthError && e.message === lacks, JSON.stringify(raw));
    }
  });

  it('names the JSON path of the first schema problem', () => {
    refuses((gt) => { gt.images[1].width = '2'; }, `${F}: images[1].width: Invalid input: expected number, received string`);
    refuses((gt) => { gt.images[0].id = -1; }, `${F}: images[0].id: Too small: expected number to be >=0`);
    refuses((gt) => { gt.images[0].id = 1.5; }, `${F}: images[0].id: Invalid input: expected int, received number`);
    refuses((gt) => { gt.tasks[5].target_ids = [11, 'x']; }, `${F}: tasks[5].target_ids[1]: Invalid input: expected number, received string`);
    refuses((gt) => { gt.annotations[2].segmentation.size = [2, 0]; }, `${F}: annotations[2].segmentation.size[1]: Too small: expected number to be >0`);
    refuses((gt) => { gt.tasks[3].visual_prompt.bbox[3] = 0; }, `${F}: tasks[3].visual_prompt.bbox[3]: Too small: expected number to be >0`);
    refuses((gt) => { gt.tasks[5].visual_prompts[0].width = 0; }, `${F}: tasks[5].visual_prompts[0].width: Too small: expected number to be >0`);
  });

  it('refuses empty names, expressions, prompt lists and one-choice questions, and accepts longer ones', () => {
    refuses((gt) => { gt.images[0].file_name = ''; }, `${F}: images[0].file_name: Too small: expected string to have >=1 characters`);
    refuses((gt) => { gt.tasks[0].expression = ''; }, `${F}: tasks[0].expression: Too small: expected string to have >=1 characters`);
    refuses((gt) => { gt.tasks[4].visual_prompt.points = []; }, `${F}: tasks[4].visual_prompt.points: Too small: expected array to have >=1 items`);
    refuses((gt) => { gt.tasks[5].visual_prompts[0].points = []; }, `${F}: tasks[5].visual_prompts[0].points: Too small: expected array to have >=1 items`);
    refuses((gt) => { gt.tasks[4].choices = ['a']; }, `${F}: tasks[4].choices: Too small: expected array to have >=2 items`);
    refuses((gt) => { gt.tasks[5].prompt_region_ids = []; gt.tasks[5].visual_prompts = []; }, `${F}: tasks[5].prompt_region_ids: Too small: expected array to have >=1 items`);
    // The dataset above already has 3 choices, 2 points, 2 prompt regions and multi-character names: no upper bound.
    accepts((gt) => { gt.tasks[4].choices = ['a', 'b', 'c', 'd', 'e']; gt.tasks[4].visual_prompt.points.push([2, 2, 1]); });
  });

  it('refuses unknown task types and prompt kinds', () => {
    refuses((gt) => { gt.tasks[2].type = 'story'; }, `${F}: tasks[2].type: Invalid discriminator value. Expected 'res' | 'caption' | 'mcq' | 'vtres'`);
    refuses((gt) => { gt.tasks[2].visual_prompt = { kind: 'lasso' }; }, `${F}: tasks[2].visual_prompt.kind: Invalid discriminator value. Expected 'mask' | 'box' | 'points' | 'scribble'`);
    refuses((gt) => { gt.tasks[4].visual_prompt.points[0][2] = 2; }, `${F}: tasks[4].visual_prompt.points[0][2]: Invalid input`);
  });

  it('refuses a dataset with no tasks', () => {
    refuses((gt) => { gt.tasks = []; }, `${F}: tasks: the dataset has no tasks, so there is nothing to score`);
  });

  it('refuses ids used twice', () => {
    refuses((gt) => { gt.images[2].id = 1; }, `${F}: images[2].id: image id 1 is used twice`);
    refuses((gt) => { gt.annotations[1].id = 10; }, `${F}: annotations[1].id: annotation id 10 is used twice`);
  });

  it('refuses annotations of missing images or of another size (height×width, as COCO writes it)', () => {
    refuses((gt) => { gt.annotations[2].image_id = 4; }, `${F}: annotations[2].image_id: image 4 does not exist`);
    refuses((gt) => { gt.annotations[0].segmentation.size = [3, 2]; }, `${F}: annotations[0].segmentation.size: [3, 2] differs from image 1's 2×3 (height×width)`);
    refuses((gt) => { gt.annotations[1].segmentation.size = [2, 4]; }, `${F}: annotations[1].segmentation.size: [2, 4] differs from image 1's 2×3 (height×width)`);
    refuses((gt) => { gt.annotations[2].segmentation.size = [1, 2]; }, `${F}: annotations[2].segmentation.size: [1, 2] differs from image 2's 2×2 (height×width)`);
  });

  it('refuses tasks that point at missing images or annotations, or at another image\'s annotation', () => {
    refuses((gt) => { gt.tasks[1].image_id = 7; }, `${F}: tasks[1].image_id: image 7 does not exist`);
    refuses((gt) => { gt.tasks[0].target_ids = [10, 99]; }, `${F}: tasks[0].target_ids[1]: annotation 99 does not exist`);
    refuses((gt) => { gt.tasks[0].target_ids = [20]; }, `${F}: tasks[0].target_ids[0]: annotation 20 belongs to image 2, not 1`);
    refuses((gt) => { gt.tasks[5].target_ids = [12]; }, `${F}: tasks[5].target_ids[0]: annotation 12 does not exist`);
    refuses((gt) => { gt.tasks[2].region_id = 20; }, `${F}: tasks[2].region_id: annotation 20 belongs to image 2, not 1`);
    refuses((gt) => { gt.tasks[2].region_id = 5; }, `${F}: tasks[2].region_id: annotation 5 does not exist`);
    refuses((gt) => { gt.tasks[3].region_id = 21; }, `${F}: tasks[3].region_id: annotation 21 does not exist`);
    refuses((gt) => { gt.tasks[5].prompt_region_ids = [10, 20]; }, `${F}: tasks[5].prompt_region_ids[1]: annotation 20 belongs to image 2, not 1`);
  });

  it('refuses an MCQ answer that is not a choice, and prompt lists that do not match their regions', () => {
    refuses((gt) => { gt.tasks[3].answer = 'Blue'; }, `${F}: tasks[3].answer: "Blue" is not one of the choices`);
    refuses((gt) => { gt.tasks[5].visual_prompts.pop(); }, `${F}: tasks[5].visual_prompts: 1 prompts for 2 regions`);
    refuses((gt) => { gt.tasks[5].visual_prompts.push({ kind: 'mask' }); }, `${F}: tasks[5].visual_prompts: 3 prompts for 2 regions`);
  });

  it('writes JSON paths the way a reader types them', () => {
    assert.equal(jsonPath(['tasks', 3, 'visual_prompt', 'bbox', 2]), 'tasks[3].visual_prompt.bbox[2]');
    assert.equal(jsonPath([0, 'a']), '[0].a');
    assert.equal(jsonPath(['a']), 'a');
    assert.equal(jsonPath([]), '(top level)');
  });

  describe('with the files', function () {
    this.timeout(60000);
    let dir: string;
    const write = (gt: unknown) => fs.writeFileSync(path.join(dir, 'ground_truth.json'), JSON.stringify(gt));
    const fileRefuses = async (message: string) => assert.rejects(readGroundTruth(dir), (e: Error) => {
      assert.ok(e instanceof GroundTruthError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.message, message);
      return true;
    });
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-gt-hand-'));
      fs.mkdirSync(path.join(dir, 'images'));
      await sharp({ create: { width: 3, height: 2, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'images/wide.png'));
      await sharp({ create: { width: 2, height: 2, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'images/sq.png'));
      // unused.png does not exist: no task uses image 3, so it is never opened.
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('reads a dataset whose images match, without opening images no task uses', async () => {
      write(dataset());
      assert.deepEqual(await readGroundTruth(dir), dataset());
    });

    it('refuses a missing or broken ground_truth.json, saying how to make one', async () => {
      const file = path.join(dir, 'ground_truth.json');
      await fileRefuses(`cannot read ${file}: no such file (make one with training/generate.py)`);
      fs.writeFileSync(file, '{"images": [');
      await assert.rejects(readGroundTruth(dir), (e: Error) => e instanceof GroundTruthError && e.message.startsWith(`cannot read ${file}: `) && e.message.endsWith(' (make one with training/generate.py)'));
    });

    it('refuses an image file the dataset names but lacks', async () => {
      write(dataset());
      fs.rmSync(path.join(dir, 'images/sq.png'));
      await fileRefuses(`${path.join(dir, 'ground_truth.json')}: images[1].file_name: image not found: ${path.join(dir, 'images/sq.png')}`);
    });

    it('refuses an image whose width or height alone differs from the dataset', async () => {
      write(dataset());
      await sharp({ create: { width: 3, height: 3, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'images/wide.png'));
      await fileRefuses(`${path.join(dir, 'ground_truth.json')}: images[0]: wide.png is 3×3, but the dataset says 3×2`);
      await sharp({ create: { width: 3, height: 2, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'images/wide.png'));
      await sharp({ create: { width: 1, height: 2, channels: 3, background: '#fff' } }).png().toFile(path.join(dir, 'images/sq.png'));
      await fileRefuses(`${path.join(dir, 'ground_truth.json')}: images[1]: sq.png is 1×2, but the dataset says 2×2`);
    });
  });
});
