// Copies three's Draco decoder into public/ so glTF decoding needs no CDN at run time.
// (The meshopt decoder is an ES module and is bundled.)
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(root, "node_modules/three/examples/jsm/libs/draco/gltf");
const to = join(root, "public/draco");
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true });
console.log(`copied the Draco decoder to ${to}`);
