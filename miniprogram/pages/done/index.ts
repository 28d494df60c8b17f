import { DONE_COUNTDOWN_SECONDS } from '../../config'
import { goOn } from '../../lib/flow'

let timer: number | undefined

/** 您已通过HCP身份认证和信息审核, counting down, then the article the user came for (or the feed). */
Component({
  data: { seconds: DONE_COUNTDOWN_SECONDS },
  methods: {
    onLoad() {
      timer = setInterval(() => {
        const seconds = this.data.seconds - 1
        this.setData({ seconds })
        if (seconds <= 0) this.next()
      }, 1000)
    },
    onUnload() {
      this.stop()
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    next() {
      this.stop()
      goOn()
    },
  },
})
