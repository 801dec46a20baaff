// Renders the Marketplace icon media/icon.png (128×128) from media/icon.svg with sharp (librsvg inside
// its libvips), so the committed PNG can always be made again from the source drawing.
import sharp from 'sharp';
import { fileURLToPath } from 'node:url';
const media = (f) => fileURLToPath(new URL(`../media/${f}`, import.meta.url));
await sharp(media('icon.svg'), { density: 72 }).resize(128, 128).png({ compressionLevel: 9 }).toFile(media('icon.png'));
console.log('make-icon: wrote media/icon.png');
