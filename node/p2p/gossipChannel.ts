// One gossipsub topic with Sandrun's validation discipline: every message goes through `validate`
// inside gossipsub's topic validator, so malformed or foreign messages are REJECTED (not delivered,
// not forwarded, and the sender's score drops) and only accepted ones reach the application.
import { TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub'
import { scoreTopic } from './gossipScoring.ts'

export type GossipVerdict<T> = { accept: T } | { reject: string } | { ignore: string }

export type GossipInvalidMessage = {
  topic: string
  /** The peer that forwarded the message to us (the one whose score changes). */
  from: string
  result: 'reject' | 'ignore'
  reason: string
}

export type GossipChannelInit<T> = {
  topic: string
  maxMessageBytes: number
  validate: (data: Uint8Array, message: Message) => GossipVerdict<T> | Promise<GossipVerdict<T>>
  onMessage: (value: T, message: Message) => void
  onInvalid?: ((info: GossipInvalidMessage) => void) | undefined
}

export type GossipChannel = {
  start(): void
  stop(): void
  publish(data: Uint8Array): Promise<{ recipients: number }>
  stats(): { accepted: number; rejected: number; ignored: number }
}

export function gossipChannel<T>(pubsub: GossipSub, init: GossipChannelInit<T>): GossipChannel {
  const { topic } = init
  // The validator and the 'message' event see the same Message object: parse once, deliver that.
  const accepted = new WeakMap<Message, T>()
  const counts = { accepted: 0, rejected: 0, ignored: 0 }

  const validator = async (peer: { toString(): string }, message: Message): Promise<TopicValidatorResult> => {
    let verdict: GossipVerdict<T>
    if (message.data.byteLength > init.maxMessageBytes) {
      verdict = { reject: `message of ${message.data.byteLength} bytes is over the ${init.maxMessageBytes}-byte limit` }
    } else {
      try {
        verdict = await init.validate(message.data, message)
      } catch (error) {
        verdict = { ignore: `validation failed locally: ${error instanceof Error ? error.message : String(error)}` }
      }
    }
    if ('accept' in verdict) {
      counts.accepted++
      accepted.set(message, verdict.accept)
      return TopicValidatorResult.Accept
    }
    const result = 'reject' in verdict ? 'reject' : 'ignore'
    counts[result === 'reject' ? 'rejected' : 'ignored']++
    init.onInvalid?.({ topic, from: peer.toString(), result, reason: 'reject' in verdict ? verdict.reject : verdict.ignore })
    return result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  const onMessage = (event: CustomEvent<Message>): void => {
    if (event.detail.topic !== topic) return
    const value = accepted.get(event.detail)
    if (value !== undefined) init.onMessage(value, event.detail)
  }

  return {
    start() {
      scoreTopic(pubsub, topic)
      pubsub.topicValidators.set(topic, validator)
      pubsub.addEventListener('message', onMessage)
      pubsub.subscribe(topic)
    },
    stop() {
      pubsub.unsubscribe(topic)
      pubsub.removeEventListener('message', onMessage)
      if (pubsub.topicValidators.get(topic) === validator) pubsub.topicValidators.delete(topic)
    },
    async publish(data) {
      const { recipients } = await pubsub.publish(topic, data)
      return { recipients: recipients.length }
    },
    stats: () => ({ ...counts }),
  }
}
