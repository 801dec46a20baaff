// Question and answer parts as plain types and functions, without zod, so the chat webview can bundle
// them small; question.ts adds the zod schemas that check them where they cross a boundary.

/** The model's 15 visual-prompt slots; region N (1-based, as the chat and the CLI number them) is <Prompt{N-1}>. */
export const MAX_REGIONS = 15;

export type QuestionPart = { kind: 'text'; text: string } | { kind: 'region'; region: number };
export type AnswerPart = { kind: 'text'; text: string } | { kind: 'region'; region: number } | { kind: 'mask'; index: number };

export class QuestionError extends Error {}

/** Joins neighbouring text parts and drops empty ones (the tokenizer sees the same text either way). */
export function normalizeQuestion(parts: readonly QuestionPart[]): QuestionPart[] {
  const out: QuestionPart[] = [];
  for (const p of parts) {
    if (p.kind === 'text') {
      if (!p.text) continue;
      const last = out[out.length - 1];
      if (last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + p.text };
      else out.push({ kind: 'text', text: p.text });
    } else out.push({ kind: 'region', region: p.region });
  }
  return out;
}

/**
 * The CLI's convention: `<region1>` … `<region15>` in a question name the regions given with --region, in
 * order. Everything else is text, including anything that looks like a model token.
 */
export function partsFromRegionText(text: string, regionCount: number): QuestionPart[] {
  const parts: QuestionPart[] = [];
  let last = 0;
  for (const m of text.matchAll(/<region(\d+)>/g)) {
    const n = Number(m[1]);
    if (n < 1 || n > regionCount) throw new QuestionError(`${m[0]} is used but only ${regionCount} region(s) were given`);
    parts.push({ kind: 'text', text: text.slice(last, m.index) }, { kind: 'region', region: n });
    last = m.index! + m[0].length;
  }
  parts.push({ kind: 'text', text: text.slice(last) });
  return normalizeQuestion(parts);
}

/** The question back as the CLI would write it (`<regionN>` for region parts), for logs and plain-text stores. */
export function regionText(parts: readonly QuestionPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : `<region${p.region}>`)).join('');
}

/**
 * A model prompt template (config.json's `prompts`) filled with parts: each `{name}` placeholder becomes the
 * parts given for it; the template's own text is the model's, the fills may come from a user.
 */
export function fillTemplate(template: string, fills: Record<string, readonly QuestionPart[]>): QuestionPart[] {
  const parts: QuestionPart[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const fill = fills[m[1]];
    if (!fill) throw new QuestionError(`the prompt template needs {${m[1]}}`);
    parts.push({ kind: 'text', text: template.slice(last, m.index) }, ...fill);
    last = m.index! + m[0].length;
  }
  parts.push({ kind: 'text', text: template.slice(last) });
  return normalizeQuestion(parts);
}

/** The highest region number a question refers to (0 when none). */
export function highestRegion(parts: readonly QuestionPart[]): number {
  return parts.reduce((m, p) => (p.kind === 'region' ? Math.max(m, p.region) : m), 0);
}

/** What the chat shows for a region chip and for a mask reference (webview-ui/chat.ts renders these). */
export const regionLabel = (region: number) => `region ${region}`;
export const maskLabel = (index: number) => `mask ${index + 1}`;

/** The answer as plain text for the CLI: regions as "region N", masks as "[mask N]". */
export function answerText(parts: readonly AnswerPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'region' ? regionLabel(p.region) : `[${maskLabel(p.index)}]`)).join('');
}

/** The answer as the chat shows it, which is what its Copy puts on the clipboard: "region N", "mask N". */
export function shownAnswerText(parts: readonly AnswerPart[]): string {
  return parts.map((p) => (p.kind === 'text' ? p.text : p.kind === 'region' ? regionLabel(p.region) : maskLabel(p.index))).join('');
}
