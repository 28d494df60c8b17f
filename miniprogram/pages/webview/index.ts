import { api, messageOf, Schemas } from '../../lib/api'

/**
 * A document a consent text links to (《用户服务协议》, 《隐私政策》): the page is given the document's
 * key and the link's place in its `links`, and opens the address the server lists there, never an
 * address from its query (anyone may open a page with any query).
 */
Component({
  data: { url: '', error: '' },
  methods: {
    async onLoad(query: Record<string, string | undefined>) {
      const key = decodeURIComponent(query.document || '') as Schemas['ConsentDocument']['key']
      const index = Number(query.link)
      try {
        const document = (await api.documents()).items.find((d) => d.key === key)
        const link = document && Number.isInteger(index) ? document.links[index] : undefined
        if (!link) return this.setData({ error: '找不到这份文件' })
        wx.setNavigationBarTitle({ title: link.title })
        this.setData({ url: link.url })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
  },
})
