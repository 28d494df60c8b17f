import { api, messageOf, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'

type Summary = Schemas['ArticleSummary'] & { day: string }

/** The feed: the newest articles first, paged by cursor. */
Component({
  data: { articles: [] as Summary[], cursor: '', error: '' },
  methods: {
    onLoad() {
      this.more()
    },
    async more() {
      try {
        const page = await api.articles(this.data.cursor || undefined)
        const articles = this.data.articles.concat(page.items.map((a) => ({ ...a, day: day(a.published_at) })))
        this.setData({ articles, cursor: page.next_cursor || '' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    open(event: WechatMiniprogram.TouchEvent) {
      const id = (event.currentTarget.dataset as { id: string }).id
      wx.navigateTo({ url: `/pages/article/index?id=${encodeURIComponent(id)}` })
    },
    openMe() {
      wx.navigateTo({ url: '/pages/me/index' })
    },
  },
})
