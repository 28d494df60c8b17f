// The app's own rules, without the stack: dates in China's time, and Markdown shown only as text.
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')
const { BUILD } = require('./build')

const { day } = require(path.join(BUILD, 'lib', 'dates'))
const { blocks } = require(path.join(BUILD, 'lib', 'markdown'))

test('a date is the day in +08:00, whatever zone the time was written in', () => {
  expect(day('2026-11-30T23:59:00+08:00')).toBe('2026-11-30')
  expect(day('2026-11-30T16:00:00Z')).toBe('2026-12-01')
  expect(day('2026-11-30T09:30:00-08:00')).toBe('2026-12-01')
  expect(day(null)).toBe('')
})

test('Markdown becomes text blocks, and markup in a body stays text on the screen', () => {
  const source = '# 标题\n\n一段**重点**文字，[链接](https://example.cn)。\n\n- 第一项\n> 引用\n\n<img src=x onerror="alert(1)"><script>alert(2)</script>'
  expect(blocks(source).map((b) => b.kind)).toEqual(['heading', 'paragraph', 'item', 'quote', 'paragraph'])
  expect(blocks(source)[1].runs).toEqual([
    { text: '一段', bold: false },
    { text: '重点', bold: true },
    { text: '文字，链接。', bold: false },
  ])

  const id = simulate.load(path.join(BUILD, 'components', 'markdown', 'index'), { compiler: 'simulate', rootPath: BUILD })
  const comp = simulate.render(id, { blocks: blocks(source) })
  comp.attach(document.createElement('div'))
  expect(comp.dom.textContent).toContain('<img src=x onerror="alert(1)"><script>alert(2)</script>')
  expect(comp.dom.querySelector('img, script')).toBeNull()
  expect(comp.dom.querySelectorAll('.markdown--md-bold, .main--md-bold').length).toBe(1)
})

test('no page hands anything to rich-text', () => {
  const wxml = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? wxml(path.join(dir, e.name)) : e.name.endsWith('.wxml') ? [path.join(dir, e.name)] : [],
    )
  const files = wxml(BUILD)
  expect(files.length).toBeGreaterThan(10)
  for (const file of files) expect(fs.readFileSync(file, 'utf8')).not.toMatch(/<rich-text/)
})
