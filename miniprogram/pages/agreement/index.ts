import { api, messageOf, Schemas } from '../../lib/api'
import { decideOn } from '../../lib/documents'
import { blocks } from '../../lib/markdown'

const AGREEMENT: Schemas['ConsentDocument']['key'] = 'hcp-identity-agreement'

/** 壹生身份认证协议书: the server's title and text, its linked documents, 同意 / 拒绝; and the refused state. */
Component({
  data: {
    document: null as Schemas['ConsentDocument'] | null,
    blocks: blocks(''),
    refused: false,
    busy: false,
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const [me, documents] = await Promise.all([api.me(), api.documents()])
        const document = documents.items.find((d) => d.key === AGREEMENT) || null
        if (document) wx.setNavigationBarTitle({ title: document.title })
        this.setData({ document, blocks: blocks(document ? document.body : ''), refused: me.next_step === 'refused' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    /** The web-view page looks the address up itself, from the document's own links. */
    openLink(event: WechatMiniprogram.TouchEvent) {
      const index = Number((event.currentTarget.dataset as { index: number }).index)
      wx.navigateTo({ url: `/pages/webview/index?document=${AGREEMENT}&link=${index}` })
    },
    agree() {
      this.decide('agree')
    },
    refuse() {
      this.decide('refuse')
    },
    decide(decision: 'agree' | 'refuse') {
      return decideOn(this, decision)
    },
  },
})
