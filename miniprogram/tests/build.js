// Compiles the mini-program as DevTools would (tsc, CommonJS) into build/miniprogram, beside its
// WXML, WXSS and JSON, for miniprogram-simulate to load: jest's global setup, or `node build.js`.
const { execFileSync } = require('child_process')
const fs = require('fs')
const path = require('path')

const SOURCE = path.resolve(__dirname, '..')
const ROOT = path.resolve(SOURCE, '..')
const BUILD = path.join(ROOT, 'build', 'miniprogram')
const ASSETS = ['.wxml', '.wxss', '.json']

function copyAssets(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!['tests', 'typings', 'node_modules'].includes(entry.name)) copyAssets(from)
    } else if (ASSETS.includes(path.extname(entry.name))) {
      const to = path.join(BUILD, path.relative(SOURCE, from))
      fs.mkdirSync(path.dirname(to), { recursive: true })
      fs.copyFileSync(from, to)
    }
  }
}

function build() {
  fs.rmSync(BUILD, { recursive: true, force: true })
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', path.join(SOURCE, 'tsconfig.json'), '--outDir', BUILD], { stdio: 'inherit' })
  copyAssets(SOURCE)
}

module.exports = build
module.exports.BUILD = BUILD
if (require.main === module) build()
