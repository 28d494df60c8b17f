import { api, forgetSession, messageOf, Body, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'

type Style = Body<'authorDisplay'>['style']
type Decision = Schemas['ConsentRecord']['decision']
// Labels for the contract's values; tsc fails here if the contract changes them.
const STYLE_LABELS: Record<Style, string> = { surname: '姓氏 + 医生（如 王医生）', title: '认证医生' }
const DECISION_LABELS: Record<Decision, string> = { agree: '同意', refuse: '拒绝', skip: '跳过', withdraw: '撤回' }

interface Row {
  id: string
  title: string
  decision: string
  day: string
  receipt: string
}

/** 我的: how comments name the user, the consent history with signed receipts, export, delete account. */
Component({
  data: {
    styles: (Object.keys(STYLE_LABELS) as Style[]).map((value) => ({ value, label: STYLE_LABELS[value] })),
    style: 'surname' as Style,
    showDepartment: false,
    displayName: '',
    department: '',
    records: [] as Row[],
    exported: '',
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const [me, history, documents] = await Promise.all([api.me(), api.consentHistory(), api.documents()])
        const titles: Record<string, string> = {}
        documents.items.forEach((d) => (titles[d.key] = d.title))
        this.setData({
          style: me.author ? me.author.style : 'surname',
          showDepartment: me.author ? me.author.show_department : false,
          records: history.items.map((r) => ({
            id: r.id,
            title: titles[r.document] || r.document,
            decision: DECISION_LABELS[r.decision],
            day: day(r.decided_at),
            receipt: '',
          })),
        })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    chooseStyle(event: WechatMiniprogram.TouchEvent) {
      this.saveAuthor((event.currentTarget.dataset as { style: Style }).style, this.data.showDepartment)
    },
    toggleDepartment() {
      this.saveAuthor(this.data.style, !this.data.showDepartment)
    },
    async saveAuthor(style: Style, showDepartment: boolean) {
      try {
        const shown = await api.setAuthor({ style, show_department: showDepartment })
        this.setData({
          style: shown.style,
          showDepartment: shown.show_department,
          displayName: shown.display_name,
          department: shown.department || '',
          error: '',
        })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    async receipt(event: WechatMiniprogram.TouchEvent) {
      const index = Number((event.currentTarget.dataset as { index: number }).index)
      try {
        const signed = await api.receipt(this.data.records[index].id)
        this.setData({ [`records[${index}].receipt`]: signed.receipt })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    async exportData() {
      try {
        this.setData({ exported: JSON.stringify(await api.exportData(), null, 2) })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    deleteAccount() {
      wx.showModal({
        title: '注销账号',
        content: '注销后您的个人信息和证件图片将被删除，评论将显示为已注销用户。确定注销？',
        success: async (res) => {
          if (!res.confirm) return
          try {
            await api.deleteAccount()
            forgetSession()
            wx.reLaunch({ url: '/pages/index/index' })
          } catch (error) {
            this.setData({ error: messageOf(error) })
          }
        },
      })
    },
  },
})
