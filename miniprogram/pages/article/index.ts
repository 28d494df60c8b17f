import { COMMENTS_PER_SCREEN } from '../../config'
import { ApiError, api, messageOf, Body, Reply, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'
import { Block, blocks } from '../../lib/markdown'

type ReportReason = Body<'commentReport'>['reason']
// Labels for the contract's reasons; tsc fails here if the contract changes them.
const REPORT_LABELS: Record<ReportReason, string> = {
  spam: '垃圾广告', abuse: '辱骂攻击', misinformation: '不实信息', privacy: '泄露隐私', other: '其他',
}
const REPORT_REASONS = Object.keys(REPORT_LABELS) as ReportReason[]
type ReplyState = NonNullable<Schemas['Comment']['reply_context']>['state']
// What a reply shows of a comment that is gone (the server gives no excerpt of it).
const GONE_LABELS: Record<ReplyState, string> = { visible: '', deleted: '原评论已删除', hidden: '原评论已隐藏' }
/** The Retry-After countdown of each open article page (cleared when it closes). */
const timers = new WeakMap<object, number>()

function stopTimer(page: object): void {
  const timer = timers.get(page)
  if (timer !== undefined) clearInterval(timer)
  timers.delete(page)
}

interface Shown {
  id: string
  name: string
  department: string
  day: string
  text: string
  mine: boolean
  state: Schemas['Comment']['state']
  reasonText: string
  reply: { name: string; text: string; gone: boolean } | null
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
    reply: context
      ? context.state === 'visible'
        ? { name: context.author.display_name, text: context.excerpt || '', gone: false }
        : { name: context.author.display_name, text: GONE_LABELS[context.state], gone: true }
      : null,
  }
}

/** `more` after `shown`, without one already there (a page asked twice, or a comment posted since). */
function appended(shown: Shown[], more: Shown[]): Shown[] {
  const ids = new Set(shown.map((c) => c.id))
  return shown.concat(more.filter((c) => !ids.has(c.id)))
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
    mutedUntil: '', // under a 403 muted: the day it ends, or 无期限
    wait: 0, // seconds before 发表 may be tapped again (Retry-After of a 429 or 503)
    posting: false,
    loadingMore: false,
    removing: false,
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
        // not through the journey yet (403): the client has sent the user on, keeping this article
        this.setData({ error: messageOf(error) })
      }
    },
    onUnload() {
      stopTimer(this)
    },
    /** Keep 发表 disabled for the seconds the server asked for, counting down. */
    holdFor(seconds: number) {
      stopTimer(this)
      this.setData({ wait: seconds })
      timers.set(
        this,
        setInterval(() => {
          const wait = this.data.wait - 1
          this.setData({ wait: Math.max(wait, 0) })
          if (wait <= 0) stopTimer(this)
        }, 1000),
      )
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
      if (this.data.loadingMore) return
      this.setData({ loadingMore: true })
      try {
        const page = await api.comments(this.data.id, COMMENTS_PER_SCREEN, this.data.cursor)
        this.setData({ comments: appended(this.data.comments, page.items.map(shown)), cursor: page.next_cursor || '' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
      this.setData({ loadingMore: false })
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
      if (this.data.posting || this.data.wait > 0) return
      this.setData({ posting: true, composerError: '', mutedUntil: '' })
      try {
        const replyTo = this.data.replyTo
        const comment = await api.postComment(this.data.id, { text: this.data.draft, ...(replyTo ? { reply_to: replyTo.id } : {}) })
        const view = shown(comment)
        // the answer to a post leaves reply_context out (the next page of comments has it): show what
        // the user replied to as the screen showed it
        if (replyTo && !view.reply) view.reply = { name: replyTo.name, text: replyTo.excerpt, gone: false }
        this.setData({ draft: '', replyTo: null, comments: appended([view], this.data.comments) })
        await this.loadArticle() // the count as the server keeps it
      } catch (error) {
        const refused = error instanceof ApiError ? error : null
        this.setData({
          composerError: messageOf(error),
          mutedUntil: refused && refused.code === 'muted' ? (refused.until ? day(refused.until) : '无期限') : '',
        })
        if (refused && refused.retryAfter) this.holdFor(refused.retryAfter)
      }
      this.setData({ posting: false })
    },
    remove(event: WechatMiniprogram.TouchEvent) {
      const id = (event.currentTarget.dataset as { id: string }).id
      if (this.data.removing) return
      wx.showModal({
        title: '删除评论',
        content: '确定删除这条评论？',
        success: async (res) => {
          if (!res.confirm || this.data.removing) return
          this.setData({ removing: true })
          try {
            await api.deleteComment(id)
            this.setData({ comments: this.data.comments.filter((c) => c.id !== id) })
            await this.loadArticle()
          } catch (error) {
            this.setData({ error: messageOf(error) })
          }
          this.setData({ removing: false })
        },
      })
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
