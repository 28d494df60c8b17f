import { ApiError, api, messageOf, onward, Schemas } from '../../lib/api'
import { go } from '../../lib/flow'

type Value = Schemas['Answer']['value']
interface Option {
  text: string
  chosen: boolean
}

function empty(value: Value | undefined): boolean {
  return value === undefined || value === '' || (Array.isArray(value) && !value.length)
}

/** The question a 400 names: `answers[N]...` (the N-th answer sent) or `answers.<question id>`. */
function questionNamed(error: ApiError, sent: Schemas['Answer'][]): string {
  for (const fault of error.fields) {
    const place = /^answers\[(\d+)\]/.exec(fault.field)
    if (place && sent[Number(place[1])]) return sent[Number(place[1])].question_id
    const id = /^answers\.(.+)$/.exec(fault.field)
    if (id) return id[1]
  }
  return ''
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
    answers: {} as Record<string, Value>, // by question id, kept until the server took them
    busy: false,
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const questions = (await api.questions()).items
        this.setData({ questions, total: questions.length })
        if (questions.length) this.show(0)
        else this.send() // nothing to ask: the server says where the user goes
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    /** Show question `index`, with the answer already given to it. */
    show(index: number) {
      const item = this.data.questions[index]
      const given = this.data.answers[item.id]
      const chosen = Array.isArray(given) ? given : given === undefined ? [] : [given]
      this.setData({
        index,
        item,
        text: item.kind === 'text' && typeof given === 'string' ? given : '',
        options: item.options.map((text) => ({ text, chosen: chosen.includes(text) })),
      })
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
    confirm() {
      const item = this.data.item
      if (!item || this.data.busy) return
      const chosen = this.data.options.filter((o) => o.chosen).map((o) => o.text)
      const value = item.kind === 'text' ? this.data.text : item.kind === 'single' ? chosen[0] || '' : chosen
      this.setData({ answers: { ...this.data.answers, [item.id]: value }, error: '' }) // an id is not a setData path
      if (this.data.index + 1 < this.data.total) return this.show(this.data.index + 1)
      this.send()
    },
    /** Every answer given, together; a 400 opens the question it names, every answer kept. */
    async send() {
      const answers = this.data.questions
        .filter((q) => !empty(this.data.answers[q.id]))
        .map((q) => ({ question_id: q.id, value: this.data.answers[q.id] }))
      this.setData({ busy: true })
      try {
        go((await api.answer({ answers })).next_step)
      } catch (error) {
        // a retry of answers that had landed (their lost answer): the server says where the user is
        if (error instanceof ApiError && error.status === 409) return onward().catch((e) => this.setData({ error: messageOf(e), busy: false }))
        const named = error instanceof ApiError && error.status === 400 ? questionNamed(error, answers) : ''
        const at = this.data.questions.findIndex((q) => q.id === named)
        if (at >= 0) this.show(at)
        const message = error instanceof ApiError && at >= 0 ? error.fields.find((f) => f.field.startsWith('answers'))?.message : ''
        this.setData({ error: message || messageOf(error), busy: false })
      }
    },
  },
})
