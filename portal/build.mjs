// Bundle the portal into dist/: app.js (minified, one file) beside index.html and style.css.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync, statSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  minify: true,
  target: "es2020",
  outfile: "dist/app.js",
  legalComments: "none",
});
cpSync("static", "dist", { recursive: true });
for (const f of ["index.html", "style.css", "app.js"]) {
  console.log(`dist/${f} ${statSync(`dist/${f}`).size} bytes`);
}
