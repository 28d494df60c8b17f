import { ApiError, api, messageOf, onward, Body, Reply, Schemas, uploadToTicket } from '../../lib/api'
import { go } from '../../lib/flow'

type Kind = Schemas['DocumentKind']
type Profession = Body<'verificationSubmit'>['profession']
type ContentType = Body<'verificationUpload'>['content_type']
type TextField = 'real_name' | 'hospital' | 'department' | 'title' | 'license_number'

// Labels for the contract's values; tsc fails here if the contract adds or drops one.
const KIND_LABELS: Record<Kind, string> = { practice_license: '执业证书', qualification: '资格证书', work_badge: '工牌' }
const PROFESSION_LABELS: Record<Profession, string> = { doctor: '医生', nurse: '护士', pharmacist: '药师', other: '其他' }
const INPUTS: { name: TextField; label: string }[] = [
  { name: 'real_name', label: '姓名' },
  { name: 'hospital', label: '医院' },
  { name: 'department', label: '科室' },
  { name: 'title', label: '职称' },
  { name: 'license_number', label: '执业证号（选填）' },
]
const CONTENT_TYPES: Record<string, ContentType> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', heic: 'image/heic',
}

interface Slot {
  kind: Kind
  label: string
  path: string // a newly chosen image, to upload
  size: number
  keep: boolean // reuse the latest submission's image of this kind
  redo: boolean // the reviewer asked for this one again
}

type Status = Reply<'verificationStatus', 200>
/** What a decision on the user's latest submission says (審核未通过, a revocation, a refused update). */
interface Decision {
  title: string
  reason: string
  note: string
}

function slotsOf(status: Pick<Status, 'redo_documents' | 'documents'> | null): Slot[] {
  return (Object.keys(KIND_LABELS) as Kind[]).map((kind) => {
    const redo = !!status && status.redo_documents.includes(kind)
    const previous = status ? status.documents.find((d) => d.kind === kind) : undefined
    return { kind, label: KIND_LABELS[kind], path: '', size: 0, keep: !!previous && previous.keepable && !redo, redo }
  })
}

function fieldMessages(error: ApiError): Record<string, string> {
  const out: Record<string, string> = {}
  error.fields.forEach((f) => (out[f.field.split('.')[0].split('[')[0]] = f.message))
  return out
}

/**
 * 身份认证: the form, three image slots (uploaded to presigned POSTs), submit; and 审核未通过 with the
 * reason, the reviewer's note and the images to redo, then 完善信息 pre-filled and 重新提交 keeping the
 * images that need not be redone.
 */
Component({
  data: {
    mode: 'loading' as 'loading' | 'form' | 'rejected' | 'update-pending',
    update: false, // an approved user updating their details (from 我的)
    decision: null as Decision | null,
    templateId: null as string | null,
    inputs: INPUTS,
    professions: (Object.keys(PROFESSION_LABELS) as Profession[]).map((value) => ({ value, label: PROFESSION_LABELS[value] })),
    professionIndex: 0,
    form: { real_name: '', hospital: '', department: '', title: '', license_number: '' } as Record<TextField, string>,
    slots: slotsOf(null),
    resubmit: false,
    fieldErrors: {} as Record<string, string>,
    error: '',
    busy: false,
  },
  methods: {
    async onLoad(query: Record<string, string | undefined>) {
      try {
        // opened from the result message too (the page GET /v1/config names): the server says what to show
        const me = await api.me()
        const update = query.update === '1' && me.next_step === 'done'
        if (me.next_step !== 'verify' && me.next_step !== 'rejected' && !update) return go(me.next_step)
        const [status, config] = await Promise.all([api.verification(), api.config()])
        this.setData({ update, templateId: config.subscribe_templates.review_result })
        if (update) return this.showUpdate(status)
        const decision = status.status === 'rejected' || status.status === 'revoked'
        this.setData({ slots: slotsOf(status), resubmit: status.status !== 'none' })
        if (status.fields) this.fill(status.fields)
        this.setData({
          mode: decision ? 'rejected' : 'form',
          decision: decision ? this.decided(status.status === 'revoked' ? '认证已撤销' : '审核未通过', status) : null,
        })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    decided(title: string, by: { reason_text: string | null; note: string | null }): Decision {
      return { title, reason: by.reason_text || '', note: by.note || '' }
    },
    /** An approved user's update: its state if one is under way or refused, else the approved details. */
    showUpdate(status: Status) {
      const latest = status.update
      if (latest && latest.status === 'pending') return this.setData({ mode: 'update-pending' })
      const source = latest || status
      this.setData({ slots: slotsOf(source), resubmit: true })
      if (source.fields) this.fill(source.fields)
      const refused = latest && latest.status === 'rejected'
      this.setData({ mode: refused ? 'rejected' : 'form', decision: refused ? this.decided('资料更新未通过', latest) : null })
    },
    async withdrawUpdate() {
      if (this.data.busy) return
      this.setData({ busy: true })
      try {
        await api.withdraw()
        this.setData({ busy: false })
        this.showUpdate(await api.verification())
      } catch (error) {
        this.setData({ error: messageOf(error), busy: false })
      }
    },
    fill(fields: Schemas['SubmittedFields']) {
      const index = this.data.professions.findIndex((p) => p.value === fields.profession)
      this.setData({
        form: {
          real_name: fields.real_name,
          hospital: fields.hospital,
          department: fields.department,
          title: fields.title,
          license_number: fields.license_number || '',
        },
        professionIndex: Math.max(index, 0),
      })
    },
    edit() {
      this.setData({ mode: 'form' })
    },
    onInput(event: WechatMiniprogram.Input) {
      const field = (event.currentTarget.dataset as { field: TextField }).field
      this.setData({ [`form.${field}`]: event.detail.value })
    },
    onProfession(event: WechatMiniprogram.PickerChange) {
      this.setData({ professionIndex: Number(event.detail.value) })
    },
    choose(event: WechatMiniprogram.TouchEvent) {
      const kind = (event.currentTarget.dataset as { kind: Kind }).kind
      const index = this.data.slots.findIndex((s) => s.kind === kind)
      wx.chooseMedia({
        count: 1,
        mediaType: ['image'],
        sourceType: ['album', 'camera'],
        success: (res) => {
          const file = res.tempFiles[0]
          this.setData({ [`slots[${index}].path`]: file.tempFilePath, [`slots[${index}].size`]: file.size })
        },
      })
    },
    /** Ask once, from the tap, for the one message that tells the user the review's result. */
    askForResult(): Promise<void> {
      const templateId = this.data.templateId
      if (!templateId) return Promise.resolve()
      return new Promise((resolve) => wx.requestSubscribeMessage({ tmplIds: [templateId], complete: () => resolve() }))
    },
    async submit() {
      if (this.data.busy) return
      this.setData({ busy: true, error: '', fieldErrors: {} })
      try {
        await this.askForResult()
        const documents: string[] = []
        for (const slot of this.data.slots.filter((s) => s.path)) {
          const extension = (slot.path.split('.').pop() || '').toLowerCase()
          const ticket = await api.uploadTicket({ kind: slot.kind, content_type: CONTENT_TYPES[extension] || 'image/jpeg', size: slot.size })
          await uploadToTicket(ticket, slot.path)
          documents.push(ticket.key)
        }
        const keep = this.data.slots.filter((s) => !s.path && s.keep).map((s) => s.kind)
        const form = this.data.form
        await api.submit({
          real_name: form.real_name,
          hospital: form.hospital,
          department: form.department,
          title: form.title,
          license_number: form.license_number || null,
          profession: this.data.professions[this.data.professionIndex].value,
          documents,
          ...(keep.length ? { keep } : {}),
        })
        if (this.data.update) return this.setData({ mode: 'update-pending', busy: false })
        await onward()
      } catch (error) {
        // a resubmission whose first answer was lost and that had landed: the server says where the user is
        if (error instanceof ApiError && error.status === 409 && !this.data.update) {
          return onward().catch((e) => this.setData({ error: messageOf(e), busy: false }))
        }
        const fieldErrors = error instanceof ApiError ? fieldMessages(error) : {}
        this.setData({ error: messageOf(error), fieldErrors, busy: false })
      }
    },
  },
})
