// `node dist/parity.js MODEL_DIR [--tol 1e-4]`: checks a model directory's ONNX graphs against the PyTorch
// parity fixtures written by export.py. Prints one JSON report; exit code 1 on a mismatch.
import { checkParity } from './parityCheck';

async function main(argv: string[]): Promise<number> {
  const dir = argv[0];
  if (!dir || dir.startsWith('-')) {
    process.stderr.write('usage: node dist/parity.js MODEL_DIR [--tol 1e-4]\n');
    return 2;
  }
  const tolIndex = argv.indexOf('--tol');
  const tolerance = tolIndex >= 0 ? Number(argv[tolIndex + 1]) : 1e-4;
  if (!(tolerance > 0)) {
    process.stderr.write('--tol must be a positive number\n');
    return 2;
  }
  const report = await checkParity(dir, tolerance);
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`parity: ${(err as Error).message}\n`);
      process.exit(2);
    },
  );
}
