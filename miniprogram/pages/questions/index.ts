import { api, messageOf, Schemas } from '../../lib/api'
import { go } from '../../lib/flow'

type Answer = Schemas['Answer']
interface Option {
  text: string
  chosen: boolean
}

/** 收集问题: one question at a time (single, multi or text), 确定 to go on; all answers sent together. */
Component({
  data: {
    questions: [] as Schemas['Question'][],
    index: 0,
    total: 0,
    item: null as Schemas['Question'] | null,
    options: [] as Option[],
    text: '',
    answers: [] as Answer[],
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const questions = (await api.questions()).items
        this.setData({ questions, total: questions.length })
        this.show(0)
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    show(index: number) {
      const item = this.data.questions[index]
      this.setData({ index, item, text: '', options: item.options.map((text) => ({ text, chosen: false })) })
    },
    pick(event: WechatMiniprogram.TouchEvent) {
      const picked = Number((event.currentTarget.dataset as { index: number }).index)
      const single = this.data.item && this.data.item.kind === 'single'
      this.setData({
        options: this.data.options.map((o, i) => ({ text: o.text, chosen: i === picked ? !(o.chosen && !single) : !single && o.chosen })),
      })
    },
    onText(event: WechatMiniprogram.TextareaInput) {
      this.setData({ text: event.detail.value })
    },
    async confirm() {
      const item = this.data.item
      if (!item) return
      const chosen = this.data.options.filter((o) => o.chosen).map((o) => o.text)
      const value = item.kind === 'text' ? this.data.text : item.kind === 'single' ? chosen[0] || '' : chosen
      const answers = this.data.answers.concat(value === '' || (Array.isArray(value) && !value.length) ? [] : [{ question_id: item.id, value }])
      this.setData({ answers, error: '' })
      if (this.data.index + 1 < this.data.total) return this.show(this.data.index + 1)
      try {
        go((await api.answer({ answers })).next_step)
      } catch (error) {
        this.setData({ error: messageOf(error), answers: [] })
        this.show(0)
      }
    },
  },
})
