// Strings every staff page (scheduler, operator board) needs: the login
// form, logging out and API errors, in Vietnamese and English. Added to
// i18n.js's table on import; rooms never load them. No DOM here.

import { addStrings } from './i18n.js';

addStrings({
  vi: {
    'staff.logout': 'Đăng xuất',
    'login.heading': 'Đăng nhập cho cán bộ quản trị',
    'login.username': 'Tên đăng nhập',
    'login.password': 'Mật khẩu',
    'login.submit': 'Đăng nhập',
    'login.busy': 'Đang đăng nhập…',
    'login.empty': 'Hãy nhập tên đăng nhập và mật khẩu.',
    'login.wrong': 'Sai tên đăng nhập hoặc mật khẩu.',
    'login.locked': 'Đăng nhập sai quá nhiều lần. Hãy thử lại sau 15 phút.',
    'login.expired': 'Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.',
    'error.network': 'Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại.',
    'error.forbidden': 'Tài khoản này không có quyền làm việc đó.',
    'error.generic': 'Lỗi ({code}): {message}',
    'login.role': 'Tài khoản này không có quyền vào trang này.',
  },
  en: {
    'staff.logout': 'Log out',
    'login.heading': 'Staff login',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.busy': 'Logging in…',
    'login.empty': 'Enter your username and password.',
    'login.wrong': 'Wrong username or password.',
    'login.locked': 'Too many failed logins. Try again in 15 minutes.',
    'login.expired': 'Your session has ended. Please log in again.',
    'error.network': 'Cannot reach the server. Check the network and try again.',
    'error.forbidden': 'This account may not do that.',
    'error.generic': 'Error ({code}): {message}',
    'login.role': 'This account may not use this page.',
  },
});
