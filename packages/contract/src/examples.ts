import type { Payload } from './schemas';

/**
 * The payloads of the API document's examples (push2clients.txt): a promotion, a localised chat message,
 * and the maintenance notice of its cURL example. The tests send them, the benchmark sends the last, and
 * the OpenAPI document shows them.
 */
export const examplePayloads: Record<'promotion' | 'chatMessage' | 'maintenance', Payload> = {
  promotion: {
    type: 'marketing',
    alert: '您有一則新的優惠活動,立即查看!',
    badge: 1,
    sound: 'default',
    topic: 'io.imkit.app',
    title: '限時優惠',
    body: '您有一則新的優惠活動,立即查看!',
    icon: 'https://example.com/icon.png',
    collapseKey: 'promo_2026',
  },
  chatMessage: {
    alert: { 'loc-key': 'NEW_MESSAGE_NOTIFICATION', 'loc-args': ['張小明', '您好,請問有空嗎?'] },
    badge: 3,
    sound: 'default',
    title: '新訊息',
    body: '張小明:您好,請問有空嗎?',
  },
  maintenance: {
    type: 'alert',
    alert: '系統維護通知:今晚 23:00 將進行例行維護',
    badge: 1,
    sound: 'default',
    title: '系統公告',
    body: '系統維護通知:今晚 23:00 將進行例行維護',
    icon: 'https://example.com/icon.png',
  },
};
