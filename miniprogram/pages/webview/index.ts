/** A document the agreement links to (《用户服务协议》, 《隐私政策》), opened as the server gave its address. */
Component({
  data: { url: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const title = decodeURIComponent(query.title || '')
      if (title) wx.setNavigationBarTitle({ title })
      this.setData({ url: decodeURIComponent(query.url || '') })
    },
  },
})
