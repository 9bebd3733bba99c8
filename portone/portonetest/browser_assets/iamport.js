/*
 * iamport.js stand-in served by the portonetest PortOne V1 emulator.
 *
 * PortOne's browser SDK (https://cdn.iamport.kr/v1/iamport.js) cannot be loaded in our test
 * environments, so the emulator serves this file instead. It implements only what NaverPay
 * recurring (정기결제) registration needs:
 *
 *   IMP.init(impCode)
 *   IMP.request_pay(params, callback)   // callback optional in redirect mode
 *
 * request_pay checks what PortOne and NaverPay require, asks the emulator for a window
 * session, and opens the NaverPay window stand-in as a popup (naverPopupMode: true) or in
 * this window (redirect mode, result through m_redirect_url). Load it with
 * <script src="{emulator}/__emulator/iamport.js"></script>; it needs no other file.
 */
(function (window, document) {
  'use strict';

  var LOG = '[portone-emulator]';
  var MESSAGE_TYPE = 'portone-emulator:naverpay';
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error(LOG, 'iamport.js must be loaded with <script src="...">');
    return;
  }
  var scriptURL = script.src;
  var emulatorOrigin = new URL(scriptURL).origin;
  var sessionURL = new URL('naverpay/session', scriptURL).href;

  // The request_pay parameters sent to the emulator; everything else is ignored.
  var FIELDS = ['pg', 'channelKey', 'pay_method', 'customer_uid', 'merchant_uid', 'name', 'amount',
    'buyer_name', 'buyer_tel', 'buyer_email', 'buyer_addr', 'buyer_postcode', 'm_redirect_url',
    'notice_url', 'naverProductCode', 'naverChainId'];

  var impCode = null;
  var pending = null; // the popup waiting for its result

  function present(v) {
    return v !== undefined && v !== null && String(v).trim() !== '';
  }

  function isAbsoluteHTTP(u) {
    if (typeof u !== 'string') return false;
    try {
      var parsed = new URL(u);
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host !== '';
    } catch (e) {
      return false;
    }
  }

  function failure(params, code, msg) {
    return {
      success: false,
      imp_success: false,
      imp_uid: null,
      merchant_uid: present(params.merchant_uid) ? String(params.merchant_uid) : null,
      error_code: code,
      error_msg: msg
    };
  }

  function redirectWith(base, rsp) {
    var u = new URL(base);
    u.searchParams.set('imp_uid', rsp.imp_uid || '');
    u.searchParams.set('merchant_uid', rsp.merchant_uid || '');
    u.searchParams.set('imp_success', rsp.imp_success ? 'true' : 'false');
    if (!rsp.imp_success) {
      u.searchParams.set('error_code', rsp.error_code || '');
      u.searchParams.set('error_msg', rsp.error_msg || '');
    }
    window.location.assign(u.href);
  }

  // deliver hands a result to the page: the callback when there is one, else m_redirect_url.
  function deliver(params, callback, rsp) {
    if (typeof callback === 'function') {
      setTimeout(function () { callback(rsp); }, 0);
      return;
    }
    if (isAbsoluteHTTP(params.m_redirect_url)) {
      redirectWith(params.m_redirect_url, rsp);
      return;
    }
    console.error(LOG, 'no callback and no m_redirect_url to report the result to', rsp);
  }

  // check returns [error_code, error_msg] for the first requirement params miss, or null.
  function check(params) {
    if (!impCode) {
      return ['NOT_INITIALIZED', 'IMP.init(가맹점 식별코드)을 먼저 호출해주세요. (IMP.init was not called)'];
    }
    if (present(params.pg)) {
      if (!/^naverpay(\.[A-Za-z0-9_.\-]{1,64})?$/.test(String(params.pg))) {
        return ['UNSUPPORTED_PG', '에뮬레이터는 네이버페이(pg: naverpay 또는 naverpay.{MID}) 정기결제 등록만 지원합니다. (pg: ' + String(params.pg) + ')'];
      }
    } else if (!present(params.channelKey)) {
      return ['UNSUPPORTED_PG', 'pg 또는 channelKey 파라메터가 누락되었습니다. (pg: naverpay)'];
    }
    if (!present(params.customer_uid)) {
      return ['CUSTOMER_UID_REQUIRED', 'customer_uid가 없으면 일반결제(단건결제)로 진행됩니다. 에뮬레이터는 네이버페이 정기결제(빌링키) 등록만 지원합니다. (customer_uid is required: without it PortOne makes a one-off payment, which the emulator does not support)'];
    }
    if (!present(params.merchant_uid)) {
      return ['INVALID_PARAMETER', 'merchant_uid 파라메터가 누락되었습니다.'];
    }
    if (!present(params.buyer_tel)) {
      return ['INVALID_PARAMETER', 'buyer_tel 파라메터가 누락되었습니다. (네이버페이는 구매자 연락처가 필수입니다)'];
    }
    if (typeof params.amount !== 'number' || !isFinite(params.amount)) {
      return ['INVALID_PARAMETER', 'amount 파라메터는 숫자여야 합니다.'];
    }
    if (params.naverPopupMode !== undefined && params.naverPopupMode !== null && typeof params.naverPopupMode !== 'boolean') {
      return ['INVALID_PARAMETER', 'naverPopupMode 파라메터는 true 또는 false여야 합니다.'];
    }
    if (present(params.m_redirect_url) && !isAbsoluteHTTP(params.m_redirect_url)) {
      return ['INVALID_PARAMETER', 'm_redirect_url은 http:// 또는 https://로 시작하는 절대 URL이어야 합니다.'];
    }
    if (params.naverPopupMode !== true && !present(params.m_redirect_url)) {
      return ['INVALID_PARAMETER', 'naverPopupMode가 false이면 m_redirect_url이 필요합니다. (redirect mode needs m_redirect_url)'];
    }
    return null;
  }

  function finishPending(rsp) {
    var p = pending;
    if (!p) return;
    pending = null;
    clearInterval(p.timer);
    deliver(p.params, p.callback, rsp);
  }

  window.addEventListener('message', function (ev) {
    if (ev.origin !== emulatorOrigin) return;
    var data = ev.data;
    if (!data || data.type !== MESSAGE_TYPE || !pending || data.session_id !== pending.sessionID) return;
    finishPending(data.rsp);
  });

  function openWindow(params, callback, popup, session) {
    var windowURL = new URL(session.window_url, scriptURL);
    if (!popup) {
      window.location.assign(windowURL.href);
      return;
    }
    var win = window.open(windowURL.href, 'portone_emulator_naverpay', 'width=480,height=720');
    if (!win) {
      if (isAbsoluteHTTP(params.m_redirect_url)) {
        console.warn(LOG, 'the popup was blocked; continuing in this window, the result comes through m_redirect_url');
        windowURL.searchParams.set('mode', 'redirect');
        window.location.assign(windowURL.href);
        return;
      }
      deliver(params, callback, failure(params, 'POPUP_BLOCKED', '팝업이 차단되었습니다. 팝업 차단을 해제한 후 다시 시도해주세요. (the popup was blocked)'));
      return;
    }
    pending = { sessionID: session.session_id, params: params, callback: callback, win: win, closedTicks: 0 };
    var mine = pending;
    mine.timer = setInterval(function () {
      if (pending !== mine) {
        clearInterval(mine.timer);
        return;
      }
      // A window closed without a result was closed by the buyer. Wait one more tick so that
      // a result posted just before the window closed itself is handled first.
      if (win.closed && ++mine.closedTicks >= 2) {
        finishPending(failure(params, 'USER_CANCEL', '사용자가 결제를 취소하였습니다'));
      }
    }, 300);
  }

  function request_pay(params, callback) {
    if (!params || typeof params !== 'object') params = {};
    var problem = check(params);
    if (problem) {
      deliver(params, callback, failure(params, problem[0], problem[1]));
      return;
    }
    if (!present(params.naverProductCode)) {
      console.warn(LOG, 'naverProductCode가 없습니다. PortOne은 임의의 값을 쓰므로 같은 구매자가 같은 상품을 중복 등록할 수 있습니다. ' +
        '(naverProductCode is missing: PortOne defaults to a random code, so NaverPay cannot stop duplicate registrations)');
    }
    if (pending && !pending.win.closed) {
      deliver(params, callback, failure(params, 'IN_PROGRESS', '이미 진행 중인 네이버페이 창이 있습니다. (a NaverPay window is already open)'));
      return;
    }
    var popup = params.naverPopupMode === true;
    var body = new URLSearchParams();
    FIELDS.forEach(function (k) {
      if (present(params[k])) body.set(k, String(params[k]));
    });
    body.set('imp_code', impCode);
    body.set('naverPopupMode', popup ? 'true' : 'false');
    body.set('origin', window.location.origin);
    fetch(sessionURL, { method: 'POST', body: body, mode: 'cors', credentials: 'omit', cache: 'no-store' })
      .then(function (res) { return res.json(); })
      .then(function (answer) {
        if (!answer || answer.success !== true) {
          deliver(params, callback, failure(params,
            (answer && answer.error_code) || 'UNKNOWN_ERROR',
            (answer && answer.error_msg) || '알 수 없는 오류가 발생했습니다.'));
          return;
        }
        openWindow(params, callback, popup, answer);
      }, function (err) {
        deliver(params, callback, failure(params, 'NETWORK_ERROR', 'PortOne 에뮬레이터에 연결할 수 없습니다. (' + err + ')'));
      });
  }

  var IMP = {
    init: function (code) {
      if (typeof code !== 'string' || !/^[A-Za-z0-9_\-]{1,64}$/.test(code)) {
        console.error(LOG, 'IMP.init: 가맹점 식별코드가 올바르지 않습니다 (invalid IMP code)', code);
        impCode = null;
        return;
      }
      impCode = code;
    },
    request_pay: request_pay,
    version: 'portonetest-emulator',
    emulator: true
  };
  window.IMP = IMP;
})(window, document);
