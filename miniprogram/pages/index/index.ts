import { api, login, messageOf, token } from '../../lib/api'
import { go, goOn, keepDeepLink } from '../../lib/flow'

/**
 * The launch page: log in (or reuse the stored session), then show the page `next_step` names; a user
 * already through goes straight on (the countdown is for the moment the journey ends).
 */
Component({
  data: { error: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      if (query.article) keepDeepLink(decodeURIComponent(query.article))
      this.start()
    },
    async start() {
      this.setData({ error: '' })
      try {
        const user = token() ? await api.me() : await login()
        if (user.next_step === 'done') goOn()
        else go(user.next_step)
      } catch (error) {
        this.setData({ error: messageOf(error) })
      }
    },
  },
})
