import { api, messageOf, Schemas } from '../../lib/api'
import { decideOn } from '../../lib/documents'
import { blocks } from '../../lib/markdown'

const INFORMED_CONSENT: Schemas['ConsentDocument']['key'] = 'informed-consent'

/** 知情同意书: the server's text, 同意 or 不同意并跳过 (skip). */
Component({
  data: { document: null as Schemas['ConsentDocument'] | null, blocks: blocks(''), busy: false, error: '' },
  methods: {
    async onLoad() {
      try {
        const documents = await api.documents()
        const document = documents.items.find((d) => d.key === INFORMED_CONSENT) || null
        if (document) wx.setNavigationBarTitle({ title: document.title })
        this.setData({ document, blocks: blocks(document ? document.body : '') })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    agree() {
      this.decide('agree')
    },
    skip() {
      this.decide('skip')
    },
    decide(decision: 'agree' | 'skip') {
      return decideOn(this, decision)
    },
  },
})
