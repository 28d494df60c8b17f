import { api, messageOf, Schemas } from '../../lib/api'
import { go } from '../../lib/flow'
import { blocks } from '../../lib/markdown'

const AGREEMENT: Schemas['ConsentDocument']['key'] = 'hcp-identity-agreement'

/** 壹生身份认证协议书: the server's title and text, its linked documents, 同意 / 拒绝; and the refused state. */
Component({
  data: {
    document: null as Schemas['ConsentDocument'] | null,
    blocks: blocks(''),
    refused: false,
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const [me, documents] = await Promise.all([api.me(), api.documents()])
        const document = documents.items.find((d) => d.key === AGREEMENT) || null
        this.setData({ document, blocks: blocks(document ? document.body : ''), refused: me.next_step === 'refused' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    openLink(event: WechatMiniprogram.TouchEvent) {
      const { url, title } = event.currentTarget.dataset as { url: string; title: string }
      wx.navigateTo({ url: `/pages/webview/index?url=${encodeURIComponent(url)}&title=${encodeURIComponent(title)}` })
    },
    agree() {
      this.decide('agree')
    },
    refuse() {
      this.decide('refuse')
    },
    async decide(decision: 'agree' | 'refuse') {
      const document = this.data.document
      if (!document) return
      try {
        const record = await api.decide({ document: document.key, version: document.version, decision })
        go(record.next_step)
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
  },
})
