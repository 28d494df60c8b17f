import { api, messageOf, Body, Schemas } from '../../lib/api'
import { day } from '../../lib/dates'

type Style = Body<'authorDisplay'>['style']
type Decision = Schemas['ConsentRecord']['decision']
const INFORMED_CONSENT: Schemas['ConsentDocument']['key'] = 'informed-consent'
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
    consentTitle: '', // the informed consent, while agreed (it may be withdrawn)
    approved: false,
    exported: '',
    deleted: false,
    busy: false,
    error: '',
  },
  methods: {
    async onLoad() {
      try {
        const [me, history, documents] = await Promise.all([api.me(), api.consentHistory(), api.documents()])
        const titles: Record<string, string> = {}
        documents.items.forEach((d) => (titles[d.key] = d.title))
        const consent = me.consents ? me.consents[INFORMED_CONSENT] : undefined
        this.setData({
          style: me.author ? me.author.style : 'surname',
          showDepartment: me.author ? me.author.show_department : false,
          consentTitle: consent && consent.decision === 'agree' ? titles[INFORMED_CONSENT] || '' : '',
          approved: me.verification.status === 'approved',
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
    /** An approved user's new hospital or title: the verification form, as an update. */
    updateDetails() {
      wx.navigateTo({ url: '/pages/verify/index?update=1' })
    },
    withdrawConsent() {
      wx.showModal({
        title: `撤回${this.data.consentTitle}`,
        content: '撤回后，您对问卷的回答将被删除。确定撤回？',
        success: async (res) => {
          if (!res.confirm || this.data.busy) return
          this.setData({ busy: true })
          try {
            await api.withdrawConsent(INFORMED_CONSENT)
            await this.onLoad()
          } catch (error) {
            this.setData({ error: messageOf(error) })
          }
          this.setData({ busy: false })
        },
      })
    },
    deleteAccount() {
      wx.showModal({
        title: '注销账号',
        content: '注销后您的个人信息和证件图片将被删除，评论将显示为已注销用户。确定注销？',
        success: async (res) => {
          if (!res.confirm || this.data.busy) return
          this.setData({ busy: true })
          try {
            await api.deleteAccount()
            wx.clearStorageSync() // the session and the kept article went with the account
            this.setData({ deleted: true })
          } catch (error) {
            this.setData({ error: messageOf(error), busy: false })
          }
        },
      })
    },
    /** After 已注销: only a tap starts again (logging in makes a new account). */
    startOver() {
      wx.reLaunch({ url: '/pages/index/index' })
    },
  },
})
