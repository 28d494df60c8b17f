import { DONE_COUNTDOWN_SECONDS } from '../../config'
import { goOn } from '../../lib/flow'

/** The countdown of each open page (a page opened twice counts down once each). */
const timers = new WeakMap<object, number>()

/** 您已通过HCP身份认证和信息审核, counting down, then the article the user came for (or the feed). */
Component({
  data: { seconds: DONE_COUNTDOWN_SECONDS },
  methods: {
    onLoad() {
      timers.set(
        this,
        setInterval(() => {
          const seconds = this.data.seconds - 1
          this.setData({ seconds })
          if (seconds <= 0) this.next()
        }, 1000),
      )
    },
    onUnload() {
      this.stop()
    },
    stop() {
      const timer = timers.get(this)
      if (timer !== undefined) clearInterval(timer)
      timers.delete(this)
    },
    next() {
      this.stop()
      goOn()
    },
  },
})
