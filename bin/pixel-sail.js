#!/usr/bin/env node
// Entry point of `npx pixel-sail`; the tool itself is bundled to dist/cli.js by `npm run build`.
const path = require('path');
const fs = require('fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('pixel-sail: the tool is not built yet; run `npm run build` first\n');
  process.exit(2);
}
require(cli).main(process.argv.slice(2), path.join(__dirname, '..')).then((code) => process.exit(code));
