import type { Block } from '../../lib/markdown'

/** Shows the blocks of lib/markdown as text: no markup from a body ever reaches the page. */
Component({
  properties: {
    blocks: { type: Array, value: [] as Block[] },
  },
})
