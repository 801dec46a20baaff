// Runs the Python tests of training/ with Debian's interpreter (PYTHON, default /usr/bin/python3).
import { spawnSync } from 'node:child_process';
const python = process.env.PYTHON || '/usr/bin/python3';
const r = spawnSync(python, ['-m', 'pytest', 'training/tests', '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
