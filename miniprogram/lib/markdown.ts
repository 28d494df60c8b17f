/**
 * Markdown bodies (agreements, article sections) become blocks of plain text for WXML, not HTML for
 * `rich-text`: a block is a paragraph, heading, list item or quote, its text split into plain and bold
 * runs, and WXML's `{{ }}` binding shows each run as text. Nothing a body holds (tags, links, images,
 * scripts) can become markup, so no allow-list has to be kept right; the cost is that only these few
 * forms render (a link shows as its text, which the agreement's `links` make up for).
 */
export interface Run {
  text: string
  bold: boolean
}
export interface Block {
  kind: 'heading' | 'paragraph' | 'item' | 'quote'
  runs: Run[]
}

function runs(line: string): Run[] {
  const plain = line
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1') // an image: its alt text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/`([^`]*)`/g, '$1')
  const out: Run[] = []
  plain.split('**').forEach((text, i) => {
    if (text) out.push({ text: text.replace(/(^|[^*])\*([^*]+)\*/g, '$1$2'), bold: i % 2 === 1 })
  })
  return out
}

export function blocks(markdown: string): Block[] {
  const out: Block[] = []
  let paragraph: string[] = []
  const flush = (): void => {
    if (paragraph.length) out.push({ kind: 'paragraph', runs: runs(paragraph.join('')) })
    paragraph = []
  }
  for (const raw of (markdown || '').split(/\r?\n/)) {
    const line = raw.trim()
    const heading = /^#{1,6}\s+(.*)$/.exec(line)
    const item = /^(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line)
    const quote = /^>\s?(.*)$/.exec(line)
    if (!line) flush()
    else if (heading) (flush(), out.push({ kind: 'heading', runs: runs(heading[1]) }))
    else if (item) (flush(), out.push({ kind: 'item', runs: runs(item[1]) }))
    else if (quote) (flush(), out.push({ kind: 'quote', runs: runs(quote[1]) }))
    else paragraph.push(line)
  }
  flush()
  return out
}
