/*
 * PortOne V2 browser SDK stand-in served by the portonetest emulator.
 *
 * PortOne's V2 browser SDK (https://cdn.portone.io/v2/browser-sdk.js) cannot be loaded in our
 * test environments, so the emulator serves this file instead. It implements only what
 * NaverPay recurring (정기결제) registration needs:
 *
 *   PortOne.requestIssueBillingKey({storeId, channelKey, billingKeyMethod: 'EASY_PAY',
 *     issueId, issueName, customer, displayAmount, currency, redirectUrl, noticeUrls,
 *     windowType: {pc: 'POPUP', mobile: 'REDIRECTION'}, easyPay: {easyPayProvider: 'NAVERPAY'}})
 *     -> Promise<{transactionType: 'ISSUE_BILLING_KEY', billingKey} | {transactionType, code, message}>
 *
 * On PC the NaverPay window stand-in opens as a popup and the promise resolves with its
 * result; on mobile the page goes to the window and the result comes back to redirectUrl as
 * query parameters (the promise never resolves, as with PortOne's REDIRECTION). Load it with
 * <script src="{emulator}/__emulator/v2/browser-sdk.js"></script>; it needs no other file.
 */
(function (window, document) {
  'use strict';

  var LOG = '[portone-emulator v2]';
  var MESSAGE_TYPE = 'portone-emulator:v2-naverpay';
  var TX = 'ISSUE_BILLING_KEY';
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error(LOG, 'browser-sdk.js must be loaded with <script src="...">');
    return;
  }
  var scriptURL = script.src;
  var emulatorOrigin = new URL(scriptURL).origin;
  var sessionURL = new URL('naverpay/session', scriptURL).href;
  var FIELDS = ['storeId', 'channelKey', 'billingKeyMethod', 'issueId', 'issueName', 'customer',
    'displayAmount', 'currency', 'redirectUrl', 'noticeUrls', 'windowType', 'easyPay', 'customData'];
  var pending = null;

  function present(v) {
    return v !== undefined && v !== null && String(v).trim() !== '';
  }

  function failure(code, message) {
    return { transactionType: TX, code: code, message: message };
  }

  function isMobile() {
    return /Mobi|Android|iPhone|iPad|iPod/i.test(navigator.userAgent);
  }

  // check returns [code, message] for the first requirement req misses, or null.
  function check(req, mobile) {
    if (!present(req.storeId)) return ['BadRequest', 'storeId: required'];
    if (req.billingKeyMethod !== 'EASY_PAY') return ['BadRequest', 'billingKeyMethod: NaverPay billing keys are issued with EASY_PAY'];
    if (!present(req.issueId)) return ['BadRequest', 'issueId: required for NaverPay (one Naver account can never reuse one)'];
    if (!present(req.issueName)) return ['BadRequest', 'issueName: required for NaverPay'];
    var wt = req.windowType || {};
    if (!mobile && present(wt.pc) && wt.pc !== 'POPUP') return ['BadRequest', 'windowType.pc: NaverPay opens a POPUP on PC'];
    if (mobile && present(wt.mobile) && wt.mobile !== 'REDIRECTION') return ['BadRequest', 'windowType.mobile: NaverPay uses REDIRECTION on mobile'];
    if (mobile && !present(req.redirectUrl)) return ['BadRequest', 'redirectUrl: required on mobile'];
    return null;
  }

  function finish(rsp) {
    var p = pending;
    if (!p) return;
    pending = null;
    clearInterval(p.timer);
    p.resolve(rsp);
  }

  window.addEventListener('message', function (ev) {
    if (ev.origin !== emulatorOrigin) return;
    var data = ev.data;
    if (!data || data.type !== MESSAGE_TYPE || !pending || data.session_id !== pending.sessionID) return;
    finish(data.rsp);
  });

  function requestIssueBillingKey(req) {
    return new Promise(function (resolve) {
      if (!req || typeof req !== 'object') req = {};
      var mobile = isMobile();
      var problem = check(req, mobile);
      if (problem) {
        resolve(failure(problem[0], problem[1]));
        return;
      }
      if (pending && !pending.win.closed) {
        resolve(failure('BadRequest', 'a NaverPay window is already open'));
        return;
      }
      var body = {};
      FIELDS.forEach(function (k) {
        if (req[k] !== undefined) body[k] = req[k];
      });
      body.origin = window.location.origin;
      // No Content-Type, as PortOne's SDK: a JSON body all the same (and no CORS preflight).
      fetch(sessionURL, { method: 'POST', body: JSON.stringify(body), mode: 'cors', credentials: 'omit', cache: 'no-store' })
        .then(function (res) { return res.json(); })
        .then(function (answer) {
          if (!answer || !answer.session_id) {
            resolve(failure((answer && answer.code) || 'Unknown', (answer && answer.message) || 'unknown error'));
            return;
          }
          var windowURL = new URL(answer.window_url, scriptURL).href;
          if (!answer.popup) {
            window.location.assign(windowURL); // REDIRECTION: the result comes to redirectUrl
            return;
          }
          var win = window.open(windowURL, 'portone_emulator_v2_naverpay', 'width=480,height=720');
          if (!win) {
            resolve(failure('BadRequest', '팝업이 차단되었습니다. 팝업 차단을 해제한 후 다시 시도해주세요. (the popup was blocked)'));
            return;
          }
          pending = { sessionID: answer.session_id, resolve: resolve, win: win, closedTicks: 0 };
          var mine = pending;
          mine.timer = setInterval(function () {
            if (pending !== mine) {
              clearInterval(mine.timer);
              return;
            }
            if (win.closed && ++mine.closedTicks >= 2) {
              finish(failure('Cancelled', '사용자가 결제를 취소하였습니다'));
            }
          }, 300);
        }, function (err) {
          resolve(failure('Unknown', 'PortOne 에뮬레이터에 연결할 수 없습니다. (' + err + ')'));
        });
    });
  }

  window.PortOne = {
    requestIssueBillingKey: requestIssueBillingKey,
    version: 'portonetest-emulator-v2',
    emulator: true
  };
})(window, document);
