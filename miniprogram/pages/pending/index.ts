import { api, messageOf } from '../../lib/api'
import { day } from '../../lib/dates'
import { go } from '../../lib/flow'

/** 审核中: the submission waits for a reviewer; 撤回修改 takes it back to correct it. */
Component({
  data: { submittedOn: '', messaged: false, error: '' },
  methods: {
    async onLoad() {
      try {
        const [status, config] = await Promise.all([api.verification(), api.config()])
        // a result message only where the stage has its template (and the user allowed one)
        this.setData({ submittedOn: day(status.submitted_at), messaged: !!config.subscribe_templates.review_result })
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    onShow() {
      this.refresh()
    },
    /** The decision may have come: the server says where the user stands now. */
    async refresh() {
      try {
        const me = await api.me()
        if (me.next_step !== 'pending') go(me.next_step)
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
    async withdraw() {
      try {
        await api.withdraw()
        go((await api.me()).next_step)
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
  },
})
