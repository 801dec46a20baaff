// Pixel-SAIL: Annotate Folder with Pixel-SAIL… — a batch job over a folder's images in the engine worker
// (batch priority, so an editor's prompts go first), with a cancellable progress notification that shows
// count, rate and time left. A folder with an unfinished job is offered to resume it. The job itself
// (manifest, store writes, resume without loss or duplicates) is src/annotations/batch.ts; images open in an
// editor get their results through the editor's document (ImageEditorProvider.jobStore).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { folderInStore } from '../../annotations/store';
import { createJob, JobManifest, JobStoppedError, JobStore, hasImages, modelHash, noImagesMessage, parsePromptSpec, readManifest, runJob, RunSummary, unfinishedJobs } from '../../annotations/batch';
import { EngineStartError } from '../../engine/engineClient';
import type { EngineService } from '../engineService';
import { resolveModelPath } from '../settings';
import { count } from '../../words';

export interface AnnotateFolderArgs {
  /** LABEL=EXPRESSION each; asked when absent. */
  prompts?: string[];
  policy?: 'skip' | 'add' | 'replace';
  /** Resume this job instead of starting one. */
  resume?: string;
}

async function askPrompts(): Promise<string[] | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'Annotate Folder with Pixel-SAIL (1/2)',
    prompt: 'Categories and what to ask the model for each, separated by ";"',
    placeHolder: 'circle=every circle; square=the square',
    validateInput: (v) => {
      try {
        v.split(';').map((p) => p.trim()).filter(Boolean).forEach(parsePromptSpec);
        return v.trim() ? undefined : 'Give at least one LABEL=EXPRESSION';
      } catch (e) {
        return (e as Error).message.replace('--prompt', 'Each entry');
      }
    },
  });
  return text?.split(';').map((p) => p.trim()).filter(Boolean);
}

async function askPolicy(): Promise<'skip' | 'add' | 'replace' | undefined> {
  const pick = await vscode.window.showQuickPick([
    { label: 'Skip images that have objects', value: 'skip' as const },
    { label: 'Add beside existing objects', value: 'add' as const },
    { label: 'Replace the model\'s unreviewed proposals', description: 'never touches what a person made or accepted', value: 'replace' as const },
  ], { title: 'Annotate Folder with Pixel-SAIL (2/2)', placeHolder: 'Images that already have objects' });
  return pick?.value;
}

/**
 * An engine that cannot start ends a job with one error. It offers the two places a user fixes it from, and an
 * error with actions stays on screen until dismissed (VS Code hides one without actions after a few seconds,
 * which a user away from the screen during a long job would never see).
 */
function reportEngineStart(message: string, output: vscode.OutputChannel): void {
  void Promise.resolve(vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output')).then((choice) => {
    if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:pixel-sail.pixel-sail');
    else if (choice === 'Show Output') output.show(true);
  });
}

export function registerAnnotateFolder(context: vscode.ExtensionContext, engines: EngineService, output: vscode.OutputChannel, store: JobStore): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.annotateFolder', async (folder?: vscode.Uri, givenArg?: unknown): Promise<RunSummary & { job: string; stopped?: string } | undefined> => {
    // From the Explorer the second argument is the list of selected items, not the job's settings.
    const given = givenArg && typeof givenArg === 'object' && !Array.isArray(givenArg) ? (givenArg as AnnotateFolderArgs) : undefined;
    const target = folder?.fsPath ?? (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Annotate which folder?' }))?.uri.fsPath;
    if (!target) return undefined;
    // The store belongs to the dataset root (the workspace folder holding the folder), as the editor's does.
    const { root, under } = folderInStore(target, (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
    // A folder without images would take the categories and the policy, load the model and end with "0 images",
    // leaving a user to guess why; say so at once instead (a resumed job keeps its own list).
    if (!given?.resume && !hasImages(target)) {
      void vscode.window.showWarningMessage(noImagesMessage(path.basename(target)));
      return undefined;
    }
    const client = engines.get();
    let manifest: JobManifest | undefined;
    if (given?.resume) manifest = readManifest(root, given.resume);
    else if (!given) {
      const open = unfinishedJobs(root).find((j) => Object.keys(j.images).every((f) => !under || f.startsWith(`${under}/`)));
      if (open) {
        const left = Object.values(open.images).filter((i) => i.state === 'pending').length;
        const choice = await vscode.window.showInformationMessage(`This folder has an unfinished job (${open.prompts.map((p) => p.label).join(', ')}; ${count(left, 'image')} left).`, { modal: true }, 'Resume It', 'Start a New Job');
        if (!choice) return undefined;
        if (choice === 'Resume It') manifest = open;
      }
    }
    if (!manifest) {
      const specs = given?.prompts ?? (await askPrompts());
      if (!specs?.length) return undefined;
      const policy = given?.policy ?? (given ? 'skip' : await askPolicy());
      if (!policy) return undefined;
      let info;
      try {
        info = await client.start();
      } catch (e) {
        if (!(e instanceof EngineStartError)) throw e;
        output.appendLine(`no job was started in ${target}: the engine could not start: ${e.message}`);
        reportEngineStart(`Pixel-SAIL: no job was started: the engine could not start: ${e.message}`, output);
        return undefined;
      }
      manifest = await createJob(root, { prompts: specs.map(parsePromptSpec), policy, under, model: { name: info.model.name, hash: modelHash(resolveModelPath(context)) } });
    }
    const job = manifest;
    const total = Object.keys(job.images).length;
    const lanes = engines.batchEngines();
    const title = `Pixel-SAIL: annotating ${count(total, 'image')}${lanes.count > 1 ? ` with ${lanes.count} engines` : ''}`;
    let summary: RunSummary;
    try {
      summary = await Promise.resolve(vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, token) => {
          // The rate and time left count from the first image: loading the model is not annotating.
          progress.report({ message: `loading the model${lanes.count > 1 ? ` in ${lanes.count} processes` : ''}…` });
          // A model that does not load stops the job before its first image, with one error (below); any other
          // start problem (a shut-down engine) is left to the requests, which report it.
          const startError = await lanes.start().then(() => undefined, (e: unknown) => e);
          if (startError instanceof EngineStartError) throw new JobStoppedError(job, startError.message);
          const t0 = Date.now();
          let first = -1, last = 0;
          return runJob(root, job, lanes.runners, {
            shouldStop: () => token.isCancellationRequested,
            store,
            onProgress: ({ done }) => {
              if (first < 0) first = done - 1;
              const rate = (done - first) / Math.max(1e-3, (Date.now() - t0) / 1000);
              const eta = Math.round((total - done) / Math.max(rate, 1e-3));
              progress.report({ increment: ((done - last) / total) * 100, message: `${done}/${total} · ${rate.toFixed(1)} images/s · ~${eta} s left` });
              last = done;
            },
          });
        },
      )).finally(() => lanes.dispose());
    } catch (e) {
      if (!(e instanceof JobStoppedError)) throw e;
      // One error for the job, not one per image: what was written stays, the rest is pending in the manifest.
      for (const f of e.summary.failed) output.appendLine(`job ${job.id}: failed ${f.file}: ${f.error}`);
      output.appendLine(`job ${job.id}: stopped with ${e.done} of ${e.total} images done: the engine could not start: ${e.reason}`);
      // The cause first: a long message shows its first line until the notification is expanded.
      reportEngineStart(`Pixel-SAIL: the job stopped, as the engine could not start: ${e.reason} — ${e.done} of ${count(e.total, 'image')} are done; once this is fixed, run the command on the folder again to resume.`, output);
      return { ...e.summary, job: job.id, stopped: e.reason };
    }
    for (const f of summary.failed) output.appendLine(`job ${job.id}: failed ${f.file}: ${f.error}`);
    const failed = summary.failed.length ? `, ${summary.failed.length} failed (see the Pixel-SAIL output)` : '';
    const text = `Pixel-SAIL: ${count(summary.images, 'image')}, ${count(summary.objects, 'object')} proposed, ${summary.skipped} skipped${failed}.`;
    if (summary.cancelled) {
      void vscode.window.showInformationMessage(`${text} Cancelled; run the command on the folder again to resume.`);
    } else {
      void vscode.window.showInformationMessage(text);
    }
    return { ...summary, job: job.id };
  });
}
