// Every string a room sees, in Vietnamese (the default) and English. The
// choice is kept in localStorage. No DOM here: ui.js applies the strings.

/** @typedef {'vi' | 'en'} Lang */

const STORAGE_KEY = 'hoinghi.lang';

/** @type {Record<Lang, Record<string, string>>} */
const STRINGS = {
  vi: {
    'app.title': 'Hội nghị truyền hình trực tuyến',
    'page.join': 'Điểm cầu — Hội nghị truyền hình trực tuyến',
    'lang.other': 'EN',
    'lang.switch': 'Switch to English',
    'status.idle': 'Đang kết nối…',
    'status.connecting': 'Đang kết nối…',
    'status.connected': 'Đã kết nối',
    'status.reconnecting': 'Mất kết nối — đang kết nối lại…',
    'status.failed': 'Không thể tham gia',
    'status.closed': 'Đã rời phòng',
    'leave': 'Rời phòng',
    'rejoin': 'Tham gia lại',
    'dismiss': 'Đóng',
    'roster.title': 'Điểm cầu đang kết nối',
    'roster.count': '{n} điểm cầu',
    'roster.you': 'điểm cầu này',
    'room': 'Phòng: {room}',
    'empty': 'Chưa có điểm cầu nào khác',
    'self.label': 'Điểm cầu này',
    'self.noCamera': 'Không có camera',
    'tile.noVideo': 'Chưa có hình',
    'sound.enable': 'Bấm để bật âm thanh',
    'left.message': 'Bạn đã rời phòng họp.',
    'error.invalid_token': 'Mã truy cập không hợp lệ',
    'error.token_expired': 'Mã truy cập đã hết hạn',
    'error.replaced': 'Điểm cầu này đã tham gia từ một nơi khác',
    'error.missing_token': 'Đường dẫn không có mã truy cập (#token=…)',
    'error.webrtc': 'Lỗi kết nối hình ảnh, âm thanh — đang thử lại',
    'error.server': 'Lỗi máy chủ ({code}): {message}',
    'warning.media_unavailable': 'Không dùng được camera hoặc micro — điểm cầu chỉ xem và nghe',
    'landing.intro':
      'Mỗi điểm cầu (phòng họp) tham gia cuộc họp bằng một đường dẫn riêng dạng /join#token=… do quản trị viên cấp. Mở đường dẫn đó trên máy tính của phòng họp: điểm cầu tự kết nối, không cần đăng nhập.',
    'landing.label': 'Mã truy cập hoặc đường dẫn tham gia',
    'landing.placeholder': 'Dán mã truy cập hoặc đường dẫn /join#token=…',
    'landing.join': 'Tham gia',
    'landing.empty': 'Hãy dán mã truy cập hoặc đường dẫn tham gia.',
    'landing.note':
      'Mã truy cập nằm sau dấu # nên không được gửi tới máy chủ trong địa chỉ trang và không xuất hiện trong nhật ký truy cập.',
  },
  en: {
    'app.title': 'Video conference',
    'page.join': 'Room terminal — Video conference',
    'lang.other': 'VI',
    'lang.switch': 'Chuyển sang tiếng Việt',
    'status.idle': 'Connecting…',
    'status.connecting': 'Connecting…',
    'status.connected': 'Connected',
    'status.reconnecting': 'Connection lost — reconnecting…',
    'status.failed': 'Could not join',
    'status.closed': 'You left the room',
    'leave': 'Leave',
    'rejoin': 'Join again',
    'dismiss': 'Close',
    'roster.title': 'Connected rooms',
    'roster.count': '{n} rooms',
    'roster.you': 'this room',
    'room': 'Room: {room}',
    'empty': 'No other rooms yet',
    'self.label': 'This room',
    'self.noCamera': 'No camera',
    'tile.noVideo': 'No picture yet',
    'sound.enable': 'Click to enable sound',
    'left.message': 'You left the meeting.',
    'error.invalid_token': 'Invalid access token',
    'error.token_expired': 'The access token has expired',
    'error.replaced': 'This room terminal joined from somewhere else',
    'error.missing_token': 'The link has no access token (#token=…)',
    'error.webrtc': 'Audio/video connection error — retrying',
    'error.server': 'Server error ({code}): {message}',
    'warning.media_unavailable': 'Camera or microphone unavailable — this room can only watch and listen',
    'landing.intro':
      'Each room terminal joins its meeting with its own link of the form /join#token=…, issued by the administrator. Open that link on the meeting-room computer: the terminal connects by itself, no login needed.',
    'landing.label': 'Access token or join link',
    'landing.placeholder': 'Paste an access token or a /join#token=… link',
    'landing.join': 'Join',
    'landing.empty': 'Paste an access token or a join link.',
    'landing.note':
      'The token sits after the #, so it is never sent to the server in the page address and stays out of access logs.',
  },
};

/**
 * Adds a page's own strings (the scheduler's, say) to the table, so that
 * pages other rooms never load keep their strings in their own module.
 * @param {Record<Lang, Record<string, string>>} more
 */
export function addStrings(more) {
  Object.assign(STRINGS.vi, more.vi);
  Object.assign(STRINGS.en, more.en);
}

/** @type {Set<(lang: Lang) => void>} */
const listeners = new Set();

/** @type {Lang} */
let current = readStoredLang();

/** @returns {Lang} */
function readStoredLang() {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'vi';
  } catch {
    return 'vi'; // storage can be disabled; Vietnamese is the default
  }
}

/** @returns {Lang} the current language */
export function lang() {
  return current;
}

/**
 * The string for `key` in the current language, with `{name}` placeholders
 * filled from `params`. Falls back to Vietnamese, then to the key itself.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.vi[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * @param {string} key
 * @returns {boolean} whether a string exists for `key`
 */
export function has(key) {
  return key in STRINGS.vi;
}

/**
 * Switches the language, remembers it and tells the listeners.
 * @param {Lang} next
 */
export function setLang(next) {
  current = next === 'en' ? 'en' : 'vi';
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // not remembered; still switched for this page
  }
  for (const fn of listeners) fn(current);
}

/** Switches between Vietnamese and English. */
export function toggleLang() {
  setLang(current === 'vi' ? 'en' : 'vi');
}

/**
 * @param {(lang: Lang) => void} fn called after every language change
 * @returns {() => void} unsubscribes
 */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
