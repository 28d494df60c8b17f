import { ApiError, api, messageOf, Body, Reply, Schemas, uploadToTicket } from '../../lib/api'
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

function slotsOf(status: Reply<'verificationStatus', 200> | null): Slot[] {
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
    mode: 'loading' as 'loading' | 'form' | 'rejected',
    status: null as Reply<'verificationStatus', 200> | null,
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
    async onLoad() {
      try {
        // opened from the result message too (the page GET /v1/config names): the server says what to show
        const me = await api.me()
        if (me.next_step !== 'verify' && me.next_step !== 'rejected') return go(me.next_step)
        const [status, config] = await Promise.all([api.verification(), api.config()])
        const rejected = status.status === 'rejected' || status.status === 'revoked'
        this.setData({ status, templateId: config.subscribe_templates.review_result, slots: slotsOf(status), resubmit: status.status !== 'none' })
        if (status.fields) this.fill(status.fields)
        this.setData({ mode: rejected ? 'rejected' : 'form' })
      } catch (error) {
        this.setData({ error: messageOf(error) })
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
        go((await api.me()).next_step)
      } catch (error) {
        const fieldErrors = error instanceof ApiError ? fieldMessages(error) : {}
        this.setData({ error: messageOf(error), fieldErrors, busy: false })
      }
    },
  },
})
