import { COMMENTS_PER_SCREEN } from '../../config'
import { ApiError, api, messageOf, Body, Reply, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'
import { go, keepDeepLink } from '../../lib/flow'
import { Block, blocks } from '../../lib/markdown'

type ReportReason = Body<'commentReport'>['reason']
// Labels for the contract's reasons; tsc fails here if the contract changes them.
const REPORT_LABELS: Record<ReportReason, string> = {
  spam: '垃圾广告', abuse: '辱骂攻击', misinformation: '不实信息', privacy: '泄露隐私', other: '其他',
}
const REPORT_REASONS = Object.keys(REPORT_LABELS) as ReportReason[]
/** Answers that mean "not yet": the journey is not through, so this article waits for it. */
const NOT_YET = ['consent_required', 'verification_required']

interface Shown {
  id: string
  name: string
  department: string
  day: string
  text: string
  mine: boolean
  state: Schemas['Comment']['state']
  reasonText: string
  reply: { name: string; text: string } | null
}

function shown(c: Schemas['Comment']): Shown {
  const context = c.reply_context
  return {
    id: c.id,
    name: c.author.display_name,
    department: c.author.department || '',
    day: day(c.created_at),
    text: c.text,
    mine: c.mine,
    state: c.state,
    reasonText: c.reason_text || '',
    reply: context ? { name: context.author.display_name, text: context.excerpt || '' } : null,
  }
}

/**
 * The article: title, date, 作者, 非原创, text and Q&A sections, 来源, "N 评论"; the newest comments with
 * 查看更多, posting, replying, deleting one's own and reporting another's. Every refusal (429, 422,
 * 403 muted, 503) shows the server's own message under the composer.
 */
Component({
  data: {
    id: '',
    article: null as Reply<'articleDetail', 200> | null,
    published: '',
    sections: [] as { kind: string; heading: string; blocks: Block[] }[],
    count: 0,
    comments: [] as Shown[],
    cursor: '',
    draft: '',
    replyTo: null as { id: string; name: string; excerpt: string } | null,
    composerError: '',
    error: '',
  },
  methods: {
    async onLoad(query: Record<string, string | undefined>) {
      const id = decodeURIComponent(query.id || '')
      this.setData({ id })
      try {
        await this.loadArticle()
        const page = await api.comments(id, COMMENTS_PER_SCREEN)
        this.setData({ comments: page.items.map(shown), cursor: page.next_cursor || '' })
      } catch (error) {
        if (error instanceof ApiError && NOT_YET.includes(error.code)) {
          keepDeepLink(id)
          go((await api.me()).next_step)
          return
        }
        this.setData({ error: messageOf(error) })
      }
    },
    /** A shared article opens through the launch page, which keeps it until the reader may see it. */
    onShareAppMessage() {
      const article = this.data.article
      return { title: article ? article.title : '', path: `/pages/index/index?article=${encodeURIComponent(this.data.id)}` }
    },
    async loadArticle() {
      const article = await api.article(this.data.id)
      this.setData({
        article,
        published: day(article.published_at),
        count: article.comment_count,
        sections: article.sections.map((s) => ({ kind: s.kind, heading: s.heading, blocks: blocks(s.body) })),
      })
    },
    async more() {
      try {
        const page = await api.comments(this.data.id, COMMENTS_PER_SCREEN, this.data.cursor)
        this.setData({ comments: this.data.comments.concat(page.items.map(shown)), cursor: page.next_cursor || '' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    onDraft(event: WechatMiniprogram.TextareaInput) {
      this.setData({ draft: event.detail.value })
    },
    reply(event: WechatMiniprogram.TouchEvent) {
      const id = (event.currentTarget.dataset as { id: string }).id
      const comment = this.data.comments.find((c) => c.id === id)
      if (comment) this.setData({ replyTo: { id, name: comment.name, excerpt: comment.text } })
    },
    cancelReply() {
      this.setData({ replyTo: null })
    },
    async post() {
      this.setData({ composerError: '' })
      try {
        const replyTo = this.data.replyTo
        const comment = await api.postComment(this.data.id, { text: this.data.draft, ...(replyTo ? { reply_to: replyTo.id } : {}) })
        const view = shown(comment)
        // the answer to a post leaves reply_context out (the next page of comments has it): show what
        // the user replied to as the screen showed it
        if (replyTo && !view.reply) view.reply = { name: replyTo.name, text: replyTo.excerpt }
        this.setData({ draft: '', replyTo: null, comments: [view].concat(this.data.comments) })
        await this.loadArticle() // the count as the server keeps it
      } catch (error) {
        this.setData({ composerError: messageOf(error) })
      }
    },
    async remove(event: WechatMiniprogram.TouchEvent) {
      const id = (event.currentTarget.dataset as { id: string }).id
      try {
        await api.deleteComment(id)
        this.setData({ comments: this.data.comments.filter((c) => c.id !== id) })
        await this.loadArticle()
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    report(event: WechatMiniprogram.TouchEvent) {
      const id = (event.currentTarget.dataset as { id: string }).id
      wx.showActionSheet({
        itemList: REPORT_REASONS.map((r) => REPORT_LABELS[r]),
        success: async (res) => {
          try {
            await api.report(id, { reason: REPORT_REASONS[res.tapIndex] })
            wx.showToast({ title: '已举报', icon: 'none' })
          } catch (error) {
            this.setData({ error: messageOf(error) })
          }
        },
      })
    },
  },
})
