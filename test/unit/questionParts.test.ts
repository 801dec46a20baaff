// Question and answer parts (questionParts.ts), worked out by hand: joining text, the CLI's <regionN>,
// prompt templates, and answers written back as text.
import * as assert from 'node:assert/strict';
import { answerPartSchema, questionPartSchema, questionSchema, MAX_QUESTION_CHARS } from '../../src/engine/question';
import { answerText, fillTemplate, highestRegion, MAX_REGIONS, normalizeQuestion, partsFromRegionText, QuestionError, regionText, shownAnswerText } from '../../src/engine/questionParts';

const text = (t: string) => ({ kind: 'text' as const, text: t });
const region = (n: number) => ({ kind: 'region' as const, region: n });

describe('question parts', () => {
  it('joins neighbouring text and drops empty text, keeping regions where they are', () => {
    assert.deepEqual(normalizeQuestion([text('a'), text(''), text('b'), region(2), text(''), region(1), text('c'), text('d')]), [text('ab'), region(2), region(1), text('cd')]);
    assert.deepEqual(normalizeQuestion([text(''), text('')]), []);
    assert.deepEqual(normalizeQuestion([]), []);
    // The input is not changed, and the output does not share its parts.
    const input = [text('x'), text('y')];
    normalizeQuestion(input);
    assert.deepEqual(input, [text('x'), text('y')]);
  });

  it('reads <regionN> as region parts, up to the number of regions given', () => {
    assert.deepEqual(partsFromRegionText('<region1> left of <region2>.', 2), [region(1), text(' left of '), region(2), text('.')]);
    assert.deepEqual(partsFromRegionText('<region2><region2>', 2), [region(2), region(2)]);
    assert.deepEqual(partsFromRegionText('<region12> and <region15>', 15), [region(12), text(' and '), region(15)]);
    assert.deepEqual(partsFromRegionText('no regions <region> <regionx>', 0), [text('no regions <region> <regionx>')]);
    assert.deepEqual(partsFromRegionText('', 3), []);
    assert.throws(() => partsFromRegionText('a <region0> b', 3), (e: Error) => e instanceof QuestionError && e.message === '<region0> is used but only 3 region(s) were given');
    assert.throws(() => partsFromRegionText('<region1> <region4>', 3), (e: Error) => e instanceof QuestionError && e.message === '<region4> is used but only 3 region(s) were given');
    assert.equal(regionText(partsFromRegionText('Is <region1> above <region3>?', 3)), 'Is <region1> above <region3>?');
  });

  it('fills a template\'s {placeholders} with parts; a missing fill is an error', () => {
    assert.deepEqual(fillTemplate('Describe {region} and {thing}.', { region: [region(1)], thing: [text('the '), text('cat')] }), [text('Describe '), region(1), text(' and the cat.')]);
    assert.deepEqual(fillTemplate('{a}{a}', { a: [text('x')] }), [text('xx')]);
    assert.deepEqual(fillTemplate('plain', {}), [text('plain')]);
    assert.throws(() => fillTemplate('Segment {expression}.', { region: [region(1)] }), (e: Error) => e instanceof QuestionError && e.message === 'the prompt template needs {expression}');
  });

  it('names the highest region, and writes answers as text', () => {
    assert.equal(highestRegion([text('a'), region(3), region(7), region(2)]), 7);
    assert.equal(highestRegion([text('a')]), 0);
    assert.equal(answerText([text('It is '), region(2), text(', see '), { kind: 'mask', index: 0 }, text(' and '), { kind: 'mask', index: 1 }]), 'It is region 2, see [mask 1] and [mask 2]');
    // The chat shows a chip "region 2" and a reference "mask 1" (no brackets); its Copy writes what it shows.
    assert.equal(shownAnswerText([text('It is '), region(2), text(', see '), { kind: 'mask', index: 0 }, text(' and '), { kind: 'mask', index: 1 }]), 'It is region 2, see mask 1 and mask 2');
    assert.equal(MAX_REGIONS, 15);
  });

  it('checks question and answer parts where they cross a boundary', () => {
    const ok = (schema: { safeParse: (v: unknown) => { success: boolean } }, v: unknown) => schema.safeParse(v).success;
    for (const p of [text(''), text('x'.repeat(MAX_QUESTION_CHARS)), region(1), region(15)]) assert.ok(ok(questionPartSchema, p), JSON.stringify(p).slice(0, 80));
    for (const p of [text('x'.repeat(MAX_QUESTION_CHARS + 1)), region(0), region(16), region(1.5), { kind: 'token', id: 3 }, { kind: 'text' }]) assert.ok(!ok(questionPartSchema, p), JSON.stringify(p).slice(0, 80));
    assert.ok(ok(questionSchema, Array.from({ length: 256 }, () => text('a'))));
    assert.ok(!ok(questionSchema, Array.from({ length: 257 }, () => text('a'))));
    assert.ok(!ok(questionSchema, []));
    for (const p of [text(''), region(1), region(15), { kind: 'mask', index: 0 }, { kind: 'mask', index: 7 }]) assert.ok(ok(answerPartSchema, p), JSON.stringify(p));
    for (const p of [region(0), region(16), { kind: 'mask', index: -1 }, { kind: 'mask', index: 0.5 }, { kind: 'text', text: 3 }, { kind: 'seg' }]) assert.ok(!ok(answerPartSchema, p), JSON.stringify(p));
  });
});
