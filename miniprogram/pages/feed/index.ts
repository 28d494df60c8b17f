import { api, messageOf, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'

type Summary = Schemas['ArticleSummary'] & { day: string }

/** The feed: the newest articles first, paged by cursor. */
Component({
  data: { articles: [] as Summary[], cursor: '', loading: false, error: '' },
  methods: {
    onLoad() {
      this.more()
    },
    async more() {
      if (this.data.loading) return
      this.setData({ loading: true })
      try {
        const page = await api.articles(this.data.cursor || undefined)
        const ids = new Set(this.data.articles.map((a) => a.id))
        const fresh = page.items.filter((a) => !ids.has(a.id)).map((a) => ({ ...a, day: day(a.published_at) }))
        this.setData({ articles: this.data.articles.concat(fresh), cursor: page.next_cursor || '' })
      } catch (error) {
        // 403 consent_required / verification_required: the client has sent the user on
        this.setData({ error: messageOf(error) })
      }
      this.setData({ loading: false })
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
